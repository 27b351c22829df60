"""Hot swap: each worker follows the registry's pointer, refuses bad files, never fails a request."""
import http.client
import json
import logging
import os
import threading
import time

import pytest

from app import create_app
from app.serving.model_holder import ModelHolder
from model.artifacts import weights_file
from model.nn.network import MLP
from testkit.live_server import NO_RATE_LIMITS, LiveServer
from testkit.drawings import canvas_png
from tests.support.models import add_version


def break_version(registry, name: str, how: str) -> None:
    """A version folder whose weights no worker may serve, named by the pointer (as a hand edit or a
    disk fault would): `promote` itself refuses such files."""
    folder = registry.root / name
    folder.mkdir(parents=True)
    good = registry.path_of(add_version(registry, seed=9))
    if how == "truncated":
        (folder / "mlp.npz").write_bytes(good.read_bytes()[:1000])
    elif how == "garbage":
        (folder / "mlp.npz").write_bytes(b"not a zip file at all")
    elif how == "wrong shape":
        weights_file.save(MLP(input_size=100, hidden_sizes=(4,)), folder / "mlp.npz")
    registry._write_pointer(name)


@pytest.fixture
def holder(registry):
    return ModelHolder(registry.shipped, registry, check_interval=0.0)


def test_holder_follows_promote_and_rollback(holder, registry):
    assert holder.current.version == "shipped-weights"
    v1, v2 = add_version(registry, 1), add_version(registry, 2)
    registry.promote(v1)
    before = holder.current
    holder.refresh()
    assert holder.current.version == v1 and before.version == "shipped-weights"  # a new snapshot
    registry.promote(v2)
    holder.refresh()
    assert holder.current.version == v2
    registry.rollback()
    holder.refresh()
    assert holder.current.version == v1


@pytest.mark.parametrize("how", ["truncated", "garbage", "wrong shape"])
def test_a_bad_file_is_refused_and_the_old_model_keeps_serving(holder, registry, caplog, how):
    v1 = add_version(registry, 1)
    registry.promote(v1)
    holder.refresh()
    break_version(registry, "broken", how)
    with caplog.at_level(logging.ERROR, logger="app.serving.model_holder"):
        holder.refresh()
    assert holder.current.version == v1
    assert "not switching models" in caplog.text and "broken" in caplog.text
    registry.promote(v1 if how == "garbage" else add_version(registry, 3))
    holder.refresh()
    assert holder.current.version != "broken"


def test_a_worker_starting_with_a_bad_pointer_serves_the_shipped_weights(registry, caplog):
    break_version(registry, "broken", "truncated")
    with caplog.at_level(logging.ERROR, logger="app.serving.model_holder"):
        holder = ModelHolder(registry.shipped, registry)
    assert holder.current.version == "shipped-weights" and "cannot be served" in caplog.text


def test_refresh_looks_at_most_once_per_interval(registry):
    holder = ModelHolder(registry.shipped, registry, check_interval=3600)
    holder.refresh()  # the first look
    registry.promote(add_version(registry))
    holder.refresh()
    assert holder.current.version == "shipped-weights"  # no stat until the hour is over


def test_healthz_and_api_model_name_version_and_pid(registry):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(registry.shipped),
                      "INSTANCE_PATH": str(registry.root.parent), "MODEL_CHECK_INTERVAL": 0.0})
    client = app.test_client()
    assert client.get("/healthz").json["model"] == "shipped-weights"
    assert client.get("/healthz").json["pid"] == os.getpid()
    v1 = add_version(registry, 1)
    registry.promote(v1)
    assert client.get("/healthz").json["model"] == v1
    info = client.get("/api/model").json
    assert info["version"] == v1 and info["pid"] == os.getpid()


def _post_predicts(server, body: bytes, stop: threading.Event, results: list, cap: int) -> None:
    conn = server.connect()
    try:
        for i in range(cap):
            if stop.is_set():
                break
            if i % 20 == 19:  # a new connection now and then, so both workers get requests
                conn.close()
                conn = server.connect()
            try:
                resp = server.request("POST", "/predict", body, {"Content-Type": "image/png"}, conn=conn)
                results.append((resp.status, json.loads(resp.body).get("model")))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                results.append((0, repr(exc)))
                conn.close()
                conn = server.connect()
    finally:
        conn.close()


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_switching_models_under_load_fails_no_request(registry, tmp_path):
    versions = [add_version(registry, seed) for seed in (1, 2, 3)]
    log = tmp_path / "gunicorn.log"
    server = LiveServer(log, env={**NO_RATE_LIMITS,
        "DIGIT_CANVAS_WEIGHTS": str(registry.shipped), "DIGIT_CANVAS_INSTANCE": str(registry.root.parent)}).start()
    stop, results = threading.Event(), []
    body = canvas_png("seven")
    clients = [threading.Thread(target=_post_predicts, args=(server, body, stop, results, 3000))
               for _ in range(4)]
    served = lambda: json.loads(server.request("GET", "/healthz").body)  # noqa: E731
    try:
        for c in clients:
            c.start()
        for version in [versions[0], versions[1], "broken", versions[2], "rollback", versions[0]]:
            if version == "broken":
                break_version(registry, "broken", "truncated")
                _wait_for(lambda: served() and log.read_text().count("not switching models") >= 2,
                          "both workers to refuse the corrupt file")
                continue
            if version == "rollback":
                version = registry.rollback()
            else:
                registry.promote(version)
            _wait_for(lambda: served()["model"] == version, f"a worker to serve {version}")
        final = versions[0]
        pids = set()

        def both_workers_switched():
            health = served()
            if health["model"] == final:
                pids.add(health["pid"])
            return len(pids) == 2

        _wait_for(both_workers_switched, "both workers to serve the final version")
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=60)
        server.stop()
    valid = {"shipped-weights", *versions}
    assert len(results) > 50
    failures = [r for r in results if r[0] != 200]
    assert not failures, failures[:5]
    assert {model for _, model in results} <= valid
    assert {model for _, model in results} >= set(versions[:2])  # the swaps happened under load
    assert "Traceback" not in log.read_text()
