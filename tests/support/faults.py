"""Helpers for the fault tests: a bounded loopback load, waiting, feedback rows, in-place writes."""
from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Callable, NamedTuple

from app.feedback.store import FeedbackStore
from testkit.drawings import canvas_png, data_url
from testkit.live_server import NO_RATE_LIMITS, HttpResponse, LiveServer

DRAWING = data_url(canvas_png("seven"))
REFUSAL = "not switching models"  # the model holder's log line for a refused weights file


def overwrite_in_place(path: Path, data: bytes, pieces: int = 4, pause: float = 0.05) -> None:
    """What `cp new.npz mlp.npz` does: truncate the same inode and write it in pieces."""
    step = -(-len(data) // pieces)
    with open(path, "r+b" if path.exists() else "wb") as fh:
        fh.truncate(0)
        for i in range(0, len(data), step):
            fh.write(data[i:i + step])
            fh.flush()
            os.fsync(fh.fileno())
            time.sleep(pause)


def fault_server(tmp_path: Path, **env: str) -> LiveServer:
    """The real server (2 workers) for a fault test, logging to tmp_path/gunicorn.log; not started.

    The load is hundreds of requests a second from one address on purpose: no rate limit may answer it.
    """
    return LiveServer(tmp_path / "gunicorn.log", env={**NO_RATE_LIMITS, **env})


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


class Outcome(NamedTuple):
    status: int  # 0: no HTTP answer (connection reset, closed, timed out)
    detail: str  # the model version of a 200, the error code of a 4xx/5xx, or the exception
    client: int  # which client thread sent it
    at: float  # time.monotonic() when the answer (or the failure) came


class Load:
    """A few client threads POSTing one body over keep-alive connections, bounded by count and time.

    A failed connection is recorded as status 0 and replaced; nothing is retried, so every
    request the server did not answer shows up in `outcomes`.
    """

    def __init__(self, server: LiveServer, path: str, body: bytes, content_type: str,
                 clients: int = 3, max_requests: int = 3000, seconds: float = 40.0,
                 reconnect_every: int = 10, pause: float = 0.02) -> None:
        self.server, self.path, self.body, self.content_type = server, path, body, content_type
        self.max_requests, self.seconds, self.reconnect_every = max_requests, seconds, reconnect_every
        self.pause = pause  # between one client's requests: a steady load that leaves the machine usable
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True) for k in range(clients)]

    def _record(self, outcome: Outcome) -> bool:
        with self._lock:
            self.outcomes.append(outcome)
            return len(self.outcomes) < self.max_requests

    def _run(self, client: int) -> None:
        deadline = time.monotonic() + self.seconds
        conn: http.client.HTTPConnection | None = None
        sent = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            if conn is None or sent % self.reconnect_every == 0:  # spread over both workers
                if conn is not None:
                    conn.close()
                conn = self.server.connect(timeout=20)
            sent += 1
            try:
                resp = self.server.request("POST", self.path, self.body, {"Content-Type": self.content_type},
                                           conn=conn)
                payload = json.loads(resp.body)
                detail = payload["model"] if resp.status == 200 else payload.get("error", {}).get("code", "")
                more = self._record(Outcome(resp.status, str(detail), client, time.monotonic()))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                more = self._record(Outcome(0, repr(exc), client, time.monotonic()))
                conn.close()
                conn = None
            if not more:
                break
            time.sleep(self.pause)
        if conn is not None:
            conn.close()

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def wait_for_requests(self, n: int, timeout: float = 15.0) -> None:
        start = self.count()
        assert start < self.max_requests, "the load has used up its request budget"
        wait_for(lambda: self.count() >= start + n, f"{n} more requests under load", timeout)

    def statuses(self) -> Counter:
        return Counter(o.status for o in self.outcomes)

    def __enter__(self) -> "Load":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)


def feedback(marker: str) -> dict:
    """A valid feedback body whose "model" field tags the row, to find it in the database later."""
    return {"image": DRAWING, "label": 7, "predicted": 1, "confidence": 0.5, "model": marker}


def post_feedback(server: LiveServer, marker: str) -> HttpResponse:
    return server.request("POST", "/feedback", json.dumps(feedback(marker)).encode(),
                          {"Content-Type": "application/json"})


def stored_markers(db: Path) -> dict[str, int]:
    """The tags of the stored rows, with their ids."""
    return {row.model_version: row.id for row in FeedbackStore(db).rows(with_original=False)}


def healthz(server: LiveServer) -> dict | None:
    """/healthz over a fresh connection (so both workers answer it now and then); None unless 200."""
    resp = server.request("GET", "/healthz", timeout=10)
    return json.loads(resp.body) if resp.status == 200 else None


def every_worker(server: LiveServer, predicate: Callable[[dict], bool], workers: int = 2,
                 what: str = "", timeout: float = 15.0) -> set[int]:
    """Wait until `workers` distinct pids answered /healthz with `predicate` true; returns them."""
    pids: set[int] = set()

    def check() -> bool:
        health = healthz(server)
        if health is not None and predicate(health):
            pids.add(health["pid"])
        return len(pids) >= workers

    wait_for(check, what or "every worker", timeout)
    return pids
