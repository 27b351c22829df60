"""Two real app servers (gunicorn, 2 workers each) sharing one PostgreSQL database and one Redis.

Session-scoped (the ``pair`` fixture): the servers start once for every test of
tests/shared_stores/ (about 5 s), and the tests leave them as they found them (a killed
PostgreSQL or Redis is started again, a promotion rolled back).
Rate limits: /predict without X-Forwarded-For comes from loopback and is free (the load); with it
(one trusted proxy) the client is that address, limited to PAIR_PREDICT_LIMIT across both servers.
"""
from __future__ import annotations

import http.client
import json
import threading
import time
from contextlib import contextmanager
from typing import Iterator, NamedTuple

import psycopg
import pytest

from testkit.drawings import canvas_png, data_url
from testkit.live_server import HttpResponse, LiveServer
from tests.support.services import PostgresServer, RedisServer

PNG = canvas_png("seven")
PAIR_PREDICT_LIMIT = 12  # per minute and client, for both servers together
FEEDBACK = json.dumps({"image": data_url(PNG), "label": 7, "predicted": 7, "confidence": 0.9,
                       "model": "test"}).encode()


class Pair(NamedTuple):
    servers: tuple[LiveServer, LiveServer]
    database_url: str
    postgres: PostgresServer
    redis: RedisServer


@contextmanager
def started_pair(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, redis: RedisServer) -> Iterator[Pair]:
    """Two servers on one fresh database and one Redis (the ``pair`` fixture of tests/conftest.py)."""
    url = postgres.new_database()
    env = {"DIGIT_CANVAS_DATABASE_URL": url, "DIGIT_CANVAS_RATELIMIT_STORAGE": redis.url,
           "DIGIT_CANVAS_TRUSTED_PROXIES": "1", "DIGIT_CANVAS_PREDICT_LIMIT": f"{PAIR_PREDICT_LIMIT}/minute",
           "DIGIT_CANVAS_FEEDBACK_LIMIT": "1000000/second", "DIGIT_CANVAS_FEEDBACK_BUSY_TIMEOUT_MS": "2000"}
    servers = [LiveServer(tmp_path_factory.mktemp(f"server{k}") / "gunicorn.log", env=env) for k in (1, 2)]
    try:
        for server in servers:
            server.start()
        yield Pair((servers[0], servers[1]), url, postgres, redis)
    finally:
        for server in servers:
            server.stop()


def post_feedback(server: LiveServer, conn: http.client.HTTPConnection | None = None) -> HttpResponse:
    return server.request("POST", "/feedback", FEEDBACK, {"Content-Type": "application/json"}, conn=conn)


def post_predict(server: LiveServer, client: str | None = None,
                 conn: http.client.HTTPConnection | None = None) -> HttpResponse:
    headers = {"Content-Type": "image/png", **({"X-Forwarded-For": client} if client else {})}
    return server.request("POST", "/predict", PNG, headers, conn=conn)


def json_of(response: HttpResponse) -> dict:
    return json.loads(response.body)


def stored_ids(url: str) -> set[int]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT id FROM feedback")}


class Answer(NamedTuple):
    server: int  # 0 or 1
    path: str
    status: int  # 0: no HTTP answer
    body: dict
    at: float  # time.monotonic()


class PairLoad:
    """Client threads alternating /predict and /feedback over both servers until stopped.

    Nothing is retried: every answer (or failure to answer, status 0) is recorded.
    """

    def __init__(self, pair: Pair, clients: int = 4, pause: float = 0.01) -> None:
        self.pair, self.pause = pair, pause
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(k,), daemon=True) for k in range(clients)]

    def _run(self, k: int) -> None:
        server_index = k % 2
        server = self.pair.servers[server_index]
        conn = server.connect(timeout=20)
        n = 0
        while not self._stop.is_set():
            n += 1
            path = "/feedback" if n % 2 else "/predict"
            try:
                response = post_feedback(server, conn) if path == "/feedback" else post_predict(server, conn=conn)
                answer = Answer(server_index, path, response.status, json_of(response), time.monotonic())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                answer = Answer(server_index, path, 0, {"exception": repr(exc)}, time.monotonic())
                conn.close()
                conn = server.connect(timeout=20)
            with self._lock:
                self.answers.append(answer)
            time.sleep(self.pause)
        conn.close()

    def __enter__(self) -> "PairLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)
