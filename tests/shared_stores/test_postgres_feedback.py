"""The shared database's schema (app/shared/database.py), the feedback store on it, moving a folder into it.

The store's interface tests run against SQLite and PostgreSQL alike in tests/feedback/test_store.py.
"""
from __future__ import annotations

import socket
import time

import psycopg
import pytest

from app import create_app
from app.feedback.postgres import PostgresFeedbackStore
from app.feedback.store import FeedbackStore
from app.serving.model_registry import ModelRegistry
from app.serving.shared_registry import SharedRegistry
from app.shared import database as shared_database
from app.shared.database import CONNECT_TIMEOUT_S, SCHEMA_VERSION, Database, DatabaseUnavailable, redact
from model.artifacts import weights_file
from tests.support.models import add_version, tiny_model
from tests.support.processes import run_module
from tests.support.feedback_writer import row_values
from testkit.live_server import WEIGHTS
from tests.support.pair import FEEDBACK


def test_an_older_schema_is_migrated_and_keeps_its_rows(database_url):
    db = Database(database_url)
    db.migrate(target=1)  # the first release: feedback only
    with psycopg.connect(database_url, autocommit=True) as conn:
        v = row_values(4)
        conn.execute("INSERT INTO feedback (label, predicted, confidence, model_version, seen, original)"
                     " VALUES (%s, %s, %s, %s, %s, %s)", (v["label"], v["predicted"], v["confidence"],
                                                         v["model_version"], v["seen"].tobytes(), v["original_png"]))
    assert db.migrate() == 1
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT label FROM feedback").fetchall() == [(4,)]
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'feedback'")}
        assert {"feedback_by_model", "feedback_by_label"} <= indexes
        assert conn.execute("SELECT count(*) FROM model_events").fetchone()[0] == 0


def test_a_failed_migration_changes_nothing(database_url, monkeypatch):
    db = Database(database_url)
    db.migrate(target=1)

    def broken(conn):
        conn.execute("CREATE TABLE half_done (x int)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(shared_database, "MIGRATIONS", [shared_database.MIGRATIONS[0], broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        db.migrate(target=2)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 1
        assert conn.execute("SELECT to_regclass('half_done')").fetchone()[0] is None


def test_a_database_changed_by_hand_is_a_503_not_a_500(database_url, tmp_path):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_URL": database_url})
    client = app.test_client()
    assert client.post("/feedback", data=FEEDBACK, content_type="application/json").status_code == 201
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE feedback RENAME TO feedback_old")  # e.g. a restore half done
    response = client.post("/feedback", data=FEEDBACK, content_type="application/json")
    assert response.status_code == 503 and response.json["error"]["code"] == "feedback_unavailable"
    app.extensions["model_holder"].registry.close()


def test_passwords_never_reach_messages():
    assert redact("postgresql://app:s3cret@db:5432/dc") == "postgresql://app:***@db:5432/dc"
    assert redact("postgresql://app@db/dc") == "postgresql://app@db/dc"
    with pytest.raises(ValueError, match="postgresql://") as info:
        Database("mysql://root:hunter2@db/dc")
    assert "hunter2" not in str(info.value)


def test_the_connect_timeout_is_the_callers():
    """A server that takes the TCP connection but never answers: the connection gives up after the
    caller's connect timeout (the workers' default, or an admin command's longer one), as "unavailable"."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever reads the startup packet
        url = f"postgresql://app@127.0.0.1:{silent.getsockname()[1]}/dc"
        assert Database(url)._options()["connect_timeout"] == CONNECT_TIMEOUT_S
        patient = CONNECT_TIMEOUT_S + 2  # an admin command's longer wait (libpq counts whole seconds, at least 2)
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="timeout expired"):
            Database(url, connect_timeout_s=patient).connect()
        assert time.monotonic() - started >= patient - 0.1  # a timeout never expires early: not the default 3 s


def test_an_instance_folder_moves_into_the_database_once(database_url, tmp_path):
    """app/admin/to_postgres.py: the same drawings (ids, times, bytes), versions, history and served version."""

    shipped = tmp_path / "weights" / "mlp.npz"
    weights_file.save(tiny_model("shipped-weights"), shipped)
    instance = tmp_path / "instance"
    store = FeedbackStore.in_folder(instance)
    for i in range(5):
        store.add(**row_values(i))
    registry = ModelRegistry.in_instance(instance, shipped)
    v1, v2 = add_version(registry, 1), add_version(registry, 2)
    registry.promote(v1, note="first")
    registry.promote(v2)
    registry.rollback()

    moved = run_module("app.admin.to_postgres", "--instance", str(instance), "--weights", str(shipped), database_url)
    assert moved.returncode == 0, moved.stderr
    assert "moved 5 drawings and 2 model versions" in moved.stdout
    shared = PostgresFeedbackStore(database_url)
    assert [(r.id, r.created_at, r.label, r.original, r.seen.tobytes()) for r in shared.rows()] == \
        [(r.id, r.created_at, r.label, r.original, r.seen.tobytes()) for r in store.rows()]
    assert shared.add(**row_values(9)) == 6  # new ids continue after the moved ones
    db_registry = SharedRegistry(database_url, tmp_path / "elsewhere", shipped)
    assert db_registry.versions() == [v1, v2] and db_registry.active_version() == v1
    assert db_registry.history() == registry.history()
    assert db_registry.path_of(v2).read_bytes() == registry.path_of(v2).read_bytes()
    assert db_registry.rollback() == "shipped"  # the stack came along: v1 was promoted over shipped

    again = run_module("app.admin.to_postgres", "--instance", str(instance), "--weights", str(shipped), database_url)
    assert again.returncode != 0 and "only when empty" in again.stderr
    assert shared.count() == 6
    db_registry.close()
