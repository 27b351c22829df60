"""The model holder watches the weights file it serves: a good replacement is picked up, anything
else is refused with one log line per change while the last good model keeps serving."""
from __future__ import annotations

import logging
import os
import shutil

import pytest

from app import create_app
from app.serving.model_holder import ModelHolder
from app.serving.model_registry import ModelRegistry
from tests.support.openapi_check import assert_matches_openapi
from tests.support.faults import DRAWING, REFUSAL, overwrite_in_place
from tests.support.models import model_bytes, save_model

@pytest.fixture
def results():
    return []


@pytest.fixture
def holder(weights, tmp_path, results):
    registry = ModelRegistry.in_instance(tmp_path / "instance", weights)  # nothing promoted: serves `weights`
    return ModelHolder(weights, registry, check_interval=0.0, on_reload=results.append)


def refusals(caplog) -> int:
    return sum(REFUSAL in r.getMessage() for r in caplog.records)


def test_an_atomic_replacement_is_picked_up(holder, weights, results):
    assert holder.current.version == "good-1" and holder.refused is None
    tmp = weights.with_name("new.npz")
    save_model(tmp, "good-2", seed=2)
    os.replace(tmp, weights)
    holder.refresh()
    assert holder.current.version == "good-2" and results == ["ok"]


def test_an_in_place_overwrite_is_picked_up_even_if_seen_half_written(holder, weights, results, caplog):
    data = model_bytes(weights.with_name("new.npz"), "good-2", seed=2)
    inode = os.stat(weights).st_ino
    with caplog.at_level(logging.ERROR, logger="app.serving.model_holder"):
        with open(weights, "r+b") as fh:  # a worker looks in the middle of a non-atomic copy
            fh.truncate(0)
            fh.write(data[: len(data) // 2])
            fh.flush()
            holder.refresh()
            assert holder.current.version == "good-1" and holder.refused
            fh.write(data[len(data) // 2:])
        holder.refresh()
    assert os.stat(weights).st_ino == inode  # really the same file, rewritten
    assert holder.current.version == "good-2" and holder.refused is None
    assert results == ["refused", "ok"] and refusals(caplog) == 1


BAD_FILES = {
    "truncated": lambda path, good: path.write_bytes(good[:700]),
    "garbage": lambda path, good: path.write_bytes(b"PK\x03\x04 this is not a weights file"),
    "empty": lambda path, good: path.write_bytes(b""),
    "deleted": lambda path, good: path.unlink(),
    "a directory": lambda path, good: (path.unlink(), path.mkdir()),
    "a FIFO": lambda path, good: (path.unlink(), os.mkfifo(path)),  # open() must not block the worker
}


@pytest.mark.parametrize("fault", list(BAD_FILES))
def test_a_bad_file_is_refused_once_and_the_last_good_model_serves(holder, weights, results, caplog, fault):
    good = weights.read_bytes()
    with caplog.at_level(logging.ERROR, logger="app.serving.model_holder"):
        BAD_FILES[fault](weights, good)
        for _ in range(5):  # one log line per change, not one per request
            holder.refresh()
    assert holder.current.version == "good-1"
    assert holder.refused and str(weights) in holder.refused
    assert refusals(caplog) == 1 and results == ["refused"]
    if weights.is_dir():
        weights.rmdir()
    elif weights.exists() or weights.is_symlink():
        weights.unlink()
    save_model(weights, "good-2", seed=2)  # a good file again: picked up
    holder.refresh()
    assert holder.current.version == "good-2" and holder.refused is None and results == ["refused", "ok"]


def test_an_unreadable_file_is_refused_unless_this_user_can_read_it(holder, weights, results):
    """chmod 000 stops every user but root (CAP_DAC_OVERRIDE reads through it): the holder must
    follow what the OS allows, and serve a readable file, refuse an unreadable one."""
    tmp = weights.with_name("new.npz")
    save_model(tmp, "good-2", seed=2)
    tmp.chmod(0)
    os.replace(tmp, weights)
    try:
        weights.read_bytes()
        readable = True
    except PermissionError:
        readable = False
    holder.refresh()
    if readable:  # root: mode 000 does not stop reads, the file is good
        assert os.geteuid() == 0 and holder.current.version == "good-2" and results == ["ok"]
    else:
        assert holder.current.version == "good-1" and "Permission denied" in holder.refused
        assert results == ["refused"]
    weights.chmod(0o644)  # a chmod alone is a change worth a look
    holder.refresh()
    assert holder.current.version == "good-2" and holder.refused is None and results[-1] == "ok"


def test_a_refused_promoted_version_falls_back_and_recovers(holder, weights, tmp_path, results):
    registry = holder.registry
    staging = registry.staging_dir()
    save_model(staging / "mlp.npz", "v1", seed=3)
    registry.add(staging, "v1")
    registry.promote("v1")
    holder.refresh()
    assert holder.current.version == "v1"
    served = registry.path_of("v1")
    good = served.read_bytes()
    served.write_bytes(good[:500])  # the promoted file damaged in place
    holder.refresh()
    assert holder.current.version == "v1" and "v1" in holder.refused
    shutil.copyfile(weights, served)  # repaired (with other weights): picked up
    holder.refresh()
    assert holder.current.version == "good-1" and holder.refused is None
    assert results == ["ok", "refused", "ok"]


def test_healthz_says_the_file_on_disk_is_refused_and_still_answers_200(weights, tmp_path):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(weights), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "MODEL_CHECK_INTERVAL": 0.0})
    client = app.test_client()
    health = client.get("/healthz").json
    assert health["model"] == "good-1" and health["weights_ok"] is True and health["weights_error"] is None
    weights.write_bytes(b"corrupt")
    response = client.get("/healthz")
    assert response.status_code == 200
    health = response.json
    assert health["model"] == "good-1" and health["weights_ok"] is False and "npz" in health["weights_error"]
    overwrite_in_place(weights, model_bytes(tmp_path / "x.npz", "good-3"), pause=0)
    health = client.get("/healthz").json
    assert health["model"] == "good-3" and health["weights_ok"] is True
    assert client.post("/predict", data=b"", content_type="image/png").status_code == 400  # still serving


def test_a_worker_starting_with_no_servable_file_answers_503_until_a_good_one_appears(weights, tmp_path):
    """Failing to boot would make gunicorn halt every worker; this one starts and says it cannot serve."""
    weights.write_bytes(b"half a file")
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(weights), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "MODEL_CHECK_INTERVAL": 0.0})
    client = app.test_client()
    for method, path, kwargs in [("post", "/predict", {"json": {"image": DRAWING}}), ("get", "/healthz", {}),
                                 ("get", "/api/model", {})]:
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 503 and response.json["error"]["code"] == "model_unavailable", path
        assert str(weights.parent) not in response.json["error"]["message"]  # no server paths to clients
        assert_matches_openapi(path, method, 503, response.json)
    assert client.get("/").status_code == 200  # the page itself needs no model
    save_model(weights, "good-2")
    assert client.post("/predict", json={"image": DRAWING}).json["model"] == "good-2"
    assert client.get("/healthz").json["weights_ok"] is True
