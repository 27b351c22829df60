"""The feedback database locked by another process: writes wait up to the busy timeout and then
succeed, or answer 503 storage_busy with Retry-After and store nothing; /predict never needs the lock."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
from typing import NamedTuple

import pytest

from app import create_app
from app.feedback.store import DB_FILENAME
from testkit.drawings import canvas_png
from tests.support.openapi_check import assert_matches_openapi
from tests.support.faults import DRAWING, Load, fault_server, feedback, post_feedback, stored_markers
from testkit.live_server import REPO, WEIGHTS, LiveServer

class Locker:
    """`python -m tests.support.db_locker`: holds BEGIN EXCLUSIVE for `seconds` in its own process."""

    def __init__(self, db, seconds: float) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.support.db_locker", str(db), str(seconds)],
                                        cwd=REPO, stdout=subprocess.PIPE, text=True)
        word, at = self.process.stdout.readline().split()
        assert word == "locked", word
        self.locked_at = float(at)

    def wait_released(self) -> float:
        word, at = self.process.stdout.readline().split()
        assert word == "released" and self.process.wait(timeout=10) == 0
        return float(at)


def test_in_process_busy_timeout_gives_503_storage_busy_and_stores_nothing(tmp_path):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "FEEDBACK_BUSY_TIMEOUT_MS": 300})
    client = app.test_client()
    assert client.post("/feedback", json=feedback("before")).status_code == 201
    other = sqlite3.connect(tmp_path / "instance" / DB_FILENAME, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    response = client.post("/feedback", json=feedback("during"))
    assert response.status_code == 503 and response.json["error"]["code"] == "storage_busy"
    assert response.headers["Retry-After"] == "1"
    assert_matches_openapi("/feedback", "post", 503, response.json)
    assert client.post("/predict", json={"image": DRAWING}).status_code == 200  # no database needed
    other.execute("COMMIT")
    other.close()
    assert client.post("/feedback", json=feedback("after")).status_code == 201
    assert set(stored_markers(tmp_path / "instance" / DB_FILENAME)) == {"before", "after"}


def test_only_one_request_per_worker_waits_for_the_lock(tmp_path):
    """While one write waits for a locked database, a second one in the same worker is told at once
    (503 storage_busy), so waiting writes cannot take every thread from /predict."""
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "FEEDBACK_BUSY_TIMEOUT_MS": 20_000})
    assert app.test_client().post("/feedback", json=feedback("before")).status_code == 201
    other = sqlite3.connect(tmp_path / "instance" / DB_FILENAME, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    answers: list = []

    def post(marker: str) -> None:
        response = app.test_client().post("/feedback", json=feedback(marker))
        answers.append((marker, response.status_code, response.json))

    threads = [threading.Thread(target=post, args=(m,)) for m in ("a", "b")]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while not answers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(answers) == 1, "one request should have been answered while the other waits"
    told, status, body = answers[0]
    assert status == 503 and body["error"]["code"] == "storage_busy"
    other.execute("COMMIT")  # released long before the 20 s busy timeout: the waiting write succeeds
    other.close()
    for t in threads:
        t.join(timeout=30)
    waited = next(a for a in answers if a[0] != told)
    assert waited[1] == 201
    assert set(stored_markers(tmp_path / "instance" / DB_FILENAME)) == {"before", waited[0]}


class Sent(NamedTuple):
    marker: str
    status: int
    code: str  # the error code of a 503
    started: float  # time.monotonic()
    ended: float
    retry_after: str | None


class FeedbackClient(threading.Thread):
    """Sends `count` tagged feedback requests one after the other and records each as a Sent."""

    def __init__(self, server: LiveServer, name: str, count: int) -> None:
        super().__init__(daemon=True)
        self.server, self.name_, self.count = server, name, count
        self.results: list[Sent] = []

    def run(self) -> None:
        for i in range(self.count):
            marker, started = f"{self.name_}-{i}", time.monotonic()
            resp = post_feedback(self.server, marker)
            body = json.loads(resp.body)
            code = "" if resp.status == 201 else body["error"]["code"]
            self.results.append(Sent(marker, resp.status, code, started, time.monotonic(),
                                     resp.headers.get("retry-after")))


def run_lock_scenario(tmp_path, hold: float, busy_timeout_ms: int, feedback_clients: int, per_client: int):
    """A live server under /predict load; another process locks the database for `hold` seconds while
    feedback clients post. Returns (feedback results, predict outcomes with times, lock window, db)."""
    instance = tmp_path / "instance"
    with fault_server(tmp_path, DIGIT_CANVAS_INSTANCE=str(instance),
                      DIGIT_CANVAS_FEEDBACK_BUSY_TIMEOUT_MS=str(busy_timeout_ms)) as server:
        warm = post_feedback(server, "warm-up")
        assert warm.status == 201, warm
        db = instance / DB_FILENAME
        with Load(server, "/predict", canvas_png("seven"), "image/png", clients=2, seconds=30) as load:
            load.wait_for_requests(5)
            locker = Locker(db, hold)
            clients = [FeedbackClient(server, f"c{k}", per_client) for k in range(feedback_clients)]
            for c in clients:
                c.start()
            released_at = locker.wait_released()
            for c in clients:
                c.join(timeout=30)
            load.wait_for_requests(5)
        after = post_feedback(server, "after")
        assert after.status == 201, after  # the lock is gone: feedback works again at once
        log = server.log_text()
    results = [r for c in clients for r in c.results]
    assert len(results) == feedback_clients * per_client
    assert "Traceback" not in log
    return results, load, (locker.locked_at, released_at), db


def assert_no_lost_rows(results, db) -> None:
    """Every 201 is in the database; no 503 is."""
    markers = stored_markers(db)
    accepted = {r.marker for r in results if r.status == 201}
    refused = {r.marker for r in results if r.status == 503}
    assert accepted <= set(markers), accepted - set(markers)
    assert not refused & set(markers)
    assert {"warm-up", "after"} <= set(markers)
    assert len(markers) == len(accepted) + 2  # nothing else, nothing twice


def predicts_during(load: Load, window: tuple[float, float]) -> list:
    start, end = window
    return [o for o in load.outcomes if start < o.at < end]


@pytest.mark.slow
def test_a_short_lock_is_waited_for_and_every_write_succeeds(tmp_path):
    """3 s lock, 5 s busy timeout, one feedback client: every write waits and succeeds."""
    results, load, window, db = run_lock_scenario(tmp_path, hold=3.0, busy_timeout_ms=5000,
                                                  feedback_clients=1, per_client=3)
    assert [r.status for r in results] == [201, 201, 201]
    assert results[0].ended > window[1]  # the first write, sent during the lock, waited for its release
    assert_no_lost_rows(results, db)
    assert set(load.statuses()) == {200}
    assert predicts_during(load, window), "no /predict answered while the database was locked"


@pytest.mark.slow
def test_a_lock_longer_than_the_busy_timeout_is_503_storage_busy_and_nothing_stored(tmp_path):
    """5 s lock, 1.5 s busy timeout, two feedback clients: writes during the lock are 503 storage_busy
    with Retry-After (after waiting the timeout, or at once if another request of that worker is
    already waiting); writes after it succeed; no 201 is lost and no 503 is stored."""
    results, load, window, db = run_lock_scenario(tmp_path, hold=5.0, busy_timeout_ms=1500,
                                                  feedback_clients=2, per_client=4)
    for r in results:
        assert (r.status, r.code) in {(201, ""), (503, "storage_busy")}, r
        if r.status == 503:
            assert r.retry_after == "2" and r.started < window[1], r  # busy only while locked
    assert any(r.status == 503 for r in results)
    assert_no_lost_rows(results, db)
    assert set(load.statuses()) == {200}
    assert predicts_during(load, window), "no /predict answered while the database was locked"
