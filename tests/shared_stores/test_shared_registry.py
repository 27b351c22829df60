"""The model registry in PostgreSQL (app/serving/shared_registry.py), in-process."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from app import create_app
from app.feedback.postgres import PostgresFeedbackStore
from app.serving.model_holder import ModelHolder
from app.serving.model_registry import SHIPPED, RegistryError
from app.serving.shared_registry import LAST_KNOWN, SharedRegistry
from tests.support.openapi_check import assert_matches_openapi
from tests.support.faults import wait_for
from model.artifacts import weights_file
from tests.support.models import add_version, tiny_model
from tests.support.feedback_writer import row_values
from tests.support.pair import FEEDBACK
from testkit.live_server import REPO, free_port

DEAD_URL = "postgresql://postgres@127.0.0.1:{port}/nowhere"  # nothing listens there


@pytest.fixture
def shipped(tmp_path):
    path = tmp_path / "weights" / "mlp.npz"
    weights_file.save(tiny_model("shipped-weights"), path)
    return path


@pytest.fixture
def registry(database_url, tmp_path, shipped):
    registry = SharedRegistry(database_url, tmp_path / "instance", shipped, poll_interval=0.1)
    yield registry
    registry.close()


def test_versions_promote_rollback_and_history_live_in_the_database(registry, database_url, tmp_path, shipped):
    assert registry.active_version() == SHIPPED and registry.versions() == []
    v1, v2 = add_version(registry, 1), add_version(registry, 2)
    assert registry.versions() == ["v1", "v2"]
    assert registry.promote(v1, note="first") == SHIPPED
    assert registry.promote(v2) == v1
    # Another machine: its own instance folder, the same database.
    other = SharedRegistry(database_url, tmp_path / "elsewhere", shipped)
    assert other.active_version() == v2 and other.versions() == ["v1", "v2"]
    assert other.rollback() == v1 and registry.active_version() == v1
    assert [(e["action"], e["version"], e["previous"]) for e in registry.history()] == [
        ("promote", v1, SHIPPED), ("promote", v2, v1), ("rollback", v1, v2)]
    assert registry.history()[0]["note"] == "first" and registry.history()[0]["at"].endswith("Z")
    assert registry.rollback() == SHIPPED
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback()
    assert other.path_of(v2).read_bytes() == registry.path_of(v2).read_bytes()  # each machine's cache
    other.close()


def test_unknown_duplicate_and_corrupt_versions_are_refused(registry, tmp_path):
    with pytest.raises(RegistryError, match="no version"):
        registry.promote("v9")
    v1 = add_version(registry)
    staging = registry.staging_dir()
    weights_file.save(tiny_model("again"), staging / "mlp.npz")
    with pytest.raises(RegistryError, match="already exists"):
        registry.add(staging, v1)
    (staging / "mlp.npz").write_bytes(b"not a weights file")
    with pytest.raises(Exception, match="weights|zip|npz|file"):
        registry.add(staging, "v2")
    assert registry.versions() == [v1] and registry.active_version() == SHIPPED


def test_a_holder_follows_promotions_made_through_another_registry(registry, database_url, tmp_path, shipped):
    holder = ModelHolder(shipped, registry, check_interval=0.0)
    assert holder.current.version == "shipped-weights"
    operator = SharedRegistry(database_url, tmp_path / "operator", shipped)
    operator.promote(add_version(operator, 5))
    wait_for(lambda: (holder.refresh(), holder.current.version == "v1")[1], "the promotion", timeout=5)
    assert holder.current.path.is_relative_to(tmp_path / "instance" / "models-cache")
    operator.rollback()
    wait_for(lambda: (holder.refresh(), holder.current.version == "shipped-weights")[1], "the rollback", timeout=5)
    operator.close()


def test_without_the_database_the_last_good_model_serves_even_after_a_restart(registry, tmp_path, shipped):
    registry.promote(add_version(registry, 4))
    holder = ModelHolder(shipped, registry, check_interval=0.0)
    assert holder.current.version == "v1" and registry.unreachable is None
    assert (tmp_path / "instance" / "models-cache" / LAST_KNOWN).read_text().startswith("v1 ")

    # The same instance folder, the database gone (a worker restarted during an outage).
    dead = SharedRegistry(DEAD_URL.format(port=free_port()), tmp_path / "instance", shipped, poll_interval=0.1)
    restarted = ModelHolder(shipped, dead, check_interval=0.0)
    assert restarted.current.version == "v1" and restarted.refused is None
    assert "unreachable" in dead.unreachable
    restarted.refresh()
    assert restarted.current.version == "v1"
    dead.close()
    # A new machine with no cache and no database: the shipped weights, and it says why.
    fresh = SharedRegistry(DEAD_URL.format(port=free_port()), tmp_path / "new", shipped)
    assert ModelHolder(shipped, fresh).current.version == "shipped-weights" and fresh.unreachable
    fresh.close()


def test_healthz_says_the_registry_is_unreachable_and_feedback_is_503(tmp_path, shipped):
    url = DEAD_URL.format(port=free_port())
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(shipped), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_URL": url, "FEEDBACK_BUSY_TIMEOUT_MS": 500})
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["registry_ok"] is False
    assert "unreachable" in health.json["registry_error"] and "nowhere" in health.json["registry_error"]
    assert_matches_openapi("/healthz", "get", 200, health.json)
    started = time.monotonic()
    response = client.post("/feedback", data=FEEDBACK, content_type="application/json")
    assert response.status_code == 503 and response.json["error"]["code"] == "feedback_unavailable"
    assert time.monotonic() - started < 5
    app.extensions["model_holder"].registry.close()


def test_retrain_reads_feedback_from_and_stores_its_version_in_the_database(registry, database_url, tmp_path, shipped):
    """`python -m app.admin retrain` on any machine: the drawings of every server in, a version for every server out."""
    store = PostgresFeedbackStore(database_url)
    for i in range(30):
        store.add(**row_values(i))
    env = {**os.environ, "DIGIT_CANVAS_DATABASE_URL": database_url, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "app.admin", "--instance", str(tmp_path / "operator"),
                          "--weights", str(shipped), "retrain", "--quick", "--limit", "1000", "--epochs", "1",
                          "--quiet"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    [version] = registry.versions()
    assert registry.active_version() == version  # the untrained shipped fixture loses the gate
    card = registry.card(version)
    assert card["feedback"]["train"] + card["feedback"]["holdout"] == 30
    assert not list((tmp_path / "operator" / "models").glob(".staging-*"))  # nothing left behind
