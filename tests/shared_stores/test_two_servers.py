"""Two app servers behind one address: one feedback database, one model registry, one rate-limit count.

Real gunicorn servers, a real PostgreSQL and a real redis-server on 127.0.0.1 (tests/conftest.py, tests/support/pair.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import redis as redis_client

from app.serving.shared_registry import SharedRegistry
from model.artifacts import weights_file
from tests.support.models import tiny_model
from testkit.live_server import REPO, WEIGHTS, LiveServer, free_port
from tests.support.pair import (
    PAIR_PREDICT_LIMIT, Pair, PairLoad, json_of, post_feedback, post_predict, stored_ids,
)


def admin(pair: Pair, *args: str) -> subprocess.CompletedProcess:
    """`python -m app.admin ...` as an operator runs it on the first server's machine."""
    instance = pair.servers[0].env["DIGIT_CANVAS_INSTANCE"]
    env = {**os.environ, "DIGIT_CANVAS_DATABASE_URL": pair.database_url, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "app.admin", "--instance", instance, "--weights", str(WEIGHTS),
                           *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def versions_by_worker(server: LiveServer, tries: int = 12) -> dict[int, str]:
    """The version each worker answers with, asked over fresh connections (spread over the workers)."""
    seen: dict[int, str] = {}
    for _ in range(tries):
        body = json_of(server.request("GET", "/api/model"))
        seen[body["pid"]] = body["version"]
    return seen


def wait_until_served(pair: Pair, version: str, timeout: float) -> float:
    """Seconds until every worker of both servers answers with `version`."""
    start = time.monotonic()
    while True:
        answers = [versions_by_worker(server) for server in pair.servers]
        if all(len(seen) == server.workers and set(seen.values()) == {version}
               for seen, server in zip(answers, pair.servers)):
            return time.monotonic() - start
        assert time.monotonic() - start < timeout, f"not every worker serves {version}: {answers}"
        time.sleep(0.1)


def test_feedback_written_by_two_servers_lands_once_each(pair):
    before = stored_ids(pair.database_url)
    one_by_one = [post_feedback(pair.servers[i % 2]) for i in range(10)]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(lambda i: post_feedback(pair.servers[i % 2]), range(40)))
    answers = one_by_one + concurrent
    assert [r.status for r in answers] == [201] * 50
    ids = [json_of(r)["id"] for r in answers]
    assert len(set(ids)) == 50  # no id given twice, by either server
    assert stored_ids(pair.database_url) - before == set(ids)  # each row once, and nothing else

    stats = admin(pair, "feedback", "stats")  # the operator's view on either machine: the one database
    assert stats.returncode == 0, stats.stderr
    assert stats.stdout.startswith(f"{len(stored_ids(pair.database_url))} drawings in postgresql://")


def test_a_promotion_on_one_machine_is_served_by_every_worker_of_both_servers_within_5_s(pair, tmp_path):
    registry = SharedRegistry(pair.database_url, tmp_path / "operator", WEIGHTS)
    version = f"v{len(registry.versions()) + 1}"
    staging = registry.staging_dir()
    weights_file.save(tiny_model(version, seed=3), staging / "mlp.npz")
    registry.add(staging, version)
    shipped = versions_by_worker(pair.servers[1])
    assert len(set(shipped.values())) == 1 and version not in shipped.values()

    promoted = admin(pair, "models", "promote", version, "--note", "two-server test")
    assert promoted.returncode == 0, promoted.stderr
    took = wait_until_served(pair, version, timeout=5.0)
    print(f"promotion served by all {sum(s.workers for s in pair.servers)} workers after {took:.2f} s")
    assert json_of(post_predict(pair.servers[1]))["model"] == version

    rolled = admin(pair, "models", "rollback", "--note", "back")
    assert rolled.returncode == 0, rolled.stderr
    wait_until_served(pair, next(iter(shipped.values())), timeout=5.0)
    assert [e["action"] for e in registry.history()][-2:] == ["promote", "rollback"]
    registry.close()


def test_one_client_gets_one_limit_across_both_servers(pair):
    """The count is in Redis: spreading requests over 2 servers x 2 workers does not multiply it."""
    client = "203.0.113.77"
    statuses = [post_predict(pair.servers[i % 2], client).status for i in range(PAIR_PREDICT_LIMIT)]
    assert statuses == [200] * PAIR_PREDICT_LIMIT
    refused = [post_predict(server, client) for server in pair.servers for _ in range(2)]
    assert [r.status for r in refused] == [429] * 4
    assert all(json_of(r)["error"]["code"] == "too_many_requests" for r in refused)
    assert post_predict(pair.servers[0], "203.0.113.78").status == 200  # another client is not affected
    keys = redis_client.Redis.from_url(pair.redis.url).keys("*203.0.113.77*")
    assert keys, "the count is not in Redis"


def test_redis_killed_mid_load_fails_no_request_and_limits_come_back(pair):
    """Without Redis each worker counts in memory (swallow_errors + in-memory fallback): no 5xx."""
    addresses = iter(f"198.51.{k // 250}.{k % 250 + 1}" for k in range(100_000))  # each client sends once

    def burst(seconds: float) -> list[int]:
        end, statuses = time.monotonic() + seconds, []
        while time.monotonic() < end:
            with ThreadPoolExecutor(4) as pool:
                statuses += [r.status for r in pool.map(
                    lambda k: post_predict(pair.servers[k % 2], next(addresses)), range(8))]
        return statuses

    statuses = burst(1.0)
    pair.redis.kill()
    try:
        statuses += burst(2.0)
    finally:
        pair.redis.start()
    statuses += burst(1.0)
    assert Counter(statuses) == Counter({200: len(statuses)})

    client, restarted, deadline = "203.0.113.90", time.monotonic(), time.monotonic() + 40
    while not redis_client.Redis.from_url(pair.redis.url).keys(f"*{client}*"):  # counted in Redis again
        assert time.monotonic() < deadline, "the servers never went back to Redis"
        assert post_predict(pair.servers[0], client).status in (200, 429)
        time.sleep(0.5)
    print(f"{len(statuses)} /predict, all 200; counted in Redis again {time.monotonic() - restarted:.1f} s later")


def test_postgres_killed_mid_load_503s_only_feedback_and_loses_no_acknowledged_row(pair):
    before = stored_ids(pair.database_url)
    served = {json_of(post_predict(server))["model"] for server in pair.servers}
    with PairLoad(pair) as load:
        time.sleep(1.0)
        pair.postgres.kill()
        killed_at = time.monotonic()
        try:
            deadline = killed_at + 15
            while not all(any(not json_of(server.request("GET", "/healthz"))["registry_ok"] for _ in range(4))
                          for server in pair.servers):
                assert time.monotonic() < deadline, "/healthz never said the registry is unreachable"
                time.sleep(0.2)
            said_at = time.monotonic()
        finally:
            pair.postgres.start()
        restarted_at = time.monotonic()
        deadline = restarted_at + 20
        while not all(any(a.server == k and a.path == "/feedback" and a.status == 201 and a.at > restarted_at
                          for a in load.snapshot()) for k in (0, 1)):
            assert time.monotonic() < deadline, "feedback never came back after PostgreSQL did"
            time.sleep(0.2)
        time.sleep(0.5)
    answers = load.answers

    predictions = [a for a in answers if a.path == "/predict"]
    assert {a.status for a in predictions} == {200}  # the model never needs the database
    assert {a.body["model"] for a in predictions} == served  # the last good model kept serving
    feedback = [a for a in answers if a.path == "/feedback"]
    assert {a.status for a in feedback} <= {201, 503}
    refused = [a for a in feedback if a.status == 503]
    assert refused and {a.body["error"]["code"] for a in refused} <= {"feedback_unavailable", "storage_busy"}
    acknowledged = {a.body["id"] for a in feedback if a.status == 201}
    stored = stored_ids(pair.database_url) - before
    assert acknowledged <= stored  # every 201 is in the database
    back = max(min(a.at for a in feedback if a.server == k and a.status == 201 and a.at > restarted_at) for k in (0, 1))
    print(f"{len(answers)} answers; feedback {Counter(a.status for a in feedback)}; "
          f"{len(stored - acknowledged)} rows stored without a 201; /healthz said so {said_at - killed_at:.1f} s "
          f"after the kill; both servers stored feedback again {back - restarted_at:.1f} s after the restart")
    health = [json_of(server.request("GET", "/healthz")) for server in pair.servers for _ in range(4)]
    deadline = time.monotonic() + 10
    while not all(h["registry_ok"] for h in health):
        assert time.monotonic() < deadline, health
        time.sleep(0.2)
        health = [json_of(server.request("GET", "/healthz")) for server in pair.servers for _ in range(4)]


def test_a_server_starts_and_serves_predict_while_postgres_and_redis_are_both_down(tmp_path):
    """Boot order does not matter: /predict works, /feedback is a JSON 503, /healthz says why."""
    dead_db = f"postgresql://postgres:SECRET@127.0.0.1:{free_port()}/nowhere"  # never logged: redacted
    env = {"DIGIT_CANVAS_DATABASE_URL": dead_db, "DIGIT_CANVAS_RATELIMIT_STORAGE": f"redis://127.0.0.1:{free_port()}/0",
           "DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT": "none", "DIGIT_CANVAS_FEEDBACK_BUSY_TIMEOUT_MS": "1000"}
    with LiveServer(tmp_path / "gunicorn.log", env=env) as server:
        assert post_predict(server).status == 200  # limited (no exemption), counted in memory meanwhile
        health = json_of(server.request("GET", "/healthz"))
        assert health["registry_ok"] is False and "nowhere" in health["registry_error"]
        response = post_feedback(server)
        assert response.status == 503 and json_of(response)["error"]["code"] == "feedback_unavailable"
        assert "SECRET" not in server.log_text()
