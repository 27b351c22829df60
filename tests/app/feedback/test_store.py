"""The feedback store: rows, schema versions, several writer processes, a writer killed mid-write.

Tests taking `store_target` run twice: against the embedded SQLite file and against a real
PostgreSQL server (tests/support/services.py), the two stores behind one interface.
"""
import io
import signal
import sqlite3
import time

import numpy as np
import psycopg
import pytest
from PIL import Image, PngImagePlugin

from app.feedback import store as feedback_store
from app.feedback.store import (
    MAX_ORIGINAL_BYTES, SCHEMA_VERSION, FeedbackStore, FeedbackStoreError, encode_original,
    migrate, open_connection, seen_to_uint8,
)
from tests.support.processes import run_module, start_module
from tests.support.feedback_writer import open_store, row_values

INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.IntegrityError)


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request, db_path) -> str:
    """Where a store lives: a SQLite file path, or the URL of a fresh PostgreSQL database."""
    return str(db_path) if request.param == "sqlite" else request.getfixturevalue("database_url")


def bump_schema(target: str) -> None:
    """Make the stored schema one newer than this program knows."""
    if target.startswith("postgresql://"):
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("UPDATE schema_version SET version = version + 1")
    else:
        sqlite3.connect(target, isolation_level=None).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def test_new_database_is_wal_at_current_schema(db_path):
    FeedbackStore(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    columns = [r[1] for r in conn.execute("PRAGMA table_info(feedback)")]
    assert columns == ["id", "created_at", "label", "predicted", "confidence", "model_version",
                       "seen", "original"]


def test_rows_round_trip(store_target):
    store = open_store(store_target)
    seen = np.arange(784, dtype=np.uint32).reshape(28, 28).astype(np.uint8)
    png = encode_original(Image.new("RGBA", (300, 200), (0, 0, 0, 0)))
    first = store.add(label=7, predicted=1, confidence=0.83, model_version="v2", seen=seen,
                      original_png=png)
    second = store.add(**row_values(3))
    assert second == first + 1
    rows = list(store.rows())
    assert [r.id for r in rows] == [first, second]
    row = rows[0]
    assert (row.label, row.predicted, row.model_version) == (7, 1, "v2")
    assert row.confidence == pytest.approx(0.83)
    assert row.created_at.endswith("Z")
    np.testing.assert_array_equal(row.seen, seen)
    assert row.original == png and Image.open(io.BytesIO(row.original)).size == (300, 200)
    ids, images, labels = store.arrays()
    assert ids.tolist() == [first, second] and images.shape == (2, 28, 28)
    assert labels.tolist() == [7, 3]


@pytest.mark.parametrize("bad", [dict(label=11), dict(label=-1), dict(predicted=10), dict(confidence=1.5)])  # 10: not a digit
def test_database_refuses_out_of_range_values(store_target, bad):
    store = open_store(store_target)
    with pytest.raises(INTEGRITY_ERRORS):
        store.add(**{**row_values(1), **bad})
    assert store.count() == 0


def test_wrong_seen_shape_and_oversized_original_are_refused(store_target):
    store = open_store(store_target)
    with pytest.raises(ValueError, match="28, 28"):
        store.add(**{**row_values(1), "seen": np.zeros((27, 28), np.uint8)})
    with pytest.raises(ValueError, match="limit"):
        store.add(**{**row_values(1), "original_png": b"x" * (MAX_ORIGINAL_BYTES + 1)})
    assert store.count() == 0


def test_stats_count_per_label_and_model(store_target):
    store = open_store(store_target)
    for label, predicted, model in [(3, 3, "v1"), (3, 5, "v1"), (4, 4, "v2")]:
        store.add(**{**row_values(0), "label": label, "predicted": predicted, "model_version": model})
    stats = store.stats()
    assert stats["total"] == 3 and stats["right"] == 2
    assert stats["per_label"] == {3: {"count": 2, "right": 1}, 4: {"count": 1, "right": 1}}
    assert stats["per_model"] == {"v1": {"count": 2, "right": 1}, "v2": {"count": 1, "right": 1}}


def test_purge_deletes_everything(store_target):
    store = open_store(store_target)
    for i in range(5):
        store.add(**row_values(i))
    assert store.purge() == 5
    assert store.count() == 0 and store.stats()["total"] == 0


def test_older_schema_is_migrated_and_keeps_its_rows(db_path):
    db_path.parent.mkdir(parents=True)
    conn = open_connection(db_path)
    migrate(conn, target=1)  # a database written by the first release
    v = row_values(4)
    conn.execute(
        "INSERT INTO feedback (created_at, label, predicted, confidence, model_version, seen, original)"
        " VALUES ('2024-01-01T00:00:00Z', ?, ?, ?, ?, ?, ?)",
        (v["label"], v["predicted"], v["confidence"], v["model_version"], v["seen"].tobytes(),
         v["original_png"]),
    )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()

    store = FeedbackStore(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(feedback)")}
    assert {"feedback_by_model", "feedback_by_label"} <= indexes
    [row] = store.rows()
    assert row.created_at == "2024-01-01T00:00:00Z" and row.label == 4


def test_failed_migration_changes_nothing(db_path, monkeypatch):
    db_path.parent.mkdir(parents=True)
    conn = open_connection(db_path)
    migrate(conn, target=1)

    def broken(c):
        c.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration bug")

    monkeypatch.setattr(feedback_store, "MIGRATIONS", [feedback_store.MIGRATIONS[0], broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        migrate(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


def test_newer_schema_is_refused(store_target):
    open_store(store_target)
    bump_schema(store_target)
    with pytest.raises(FeedbackStoreError, match="Upgrade the program"):
        open_store(store_target)


def test_large_original_is_shrunk_below_the_limit_and_loses_its_metadata():
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 256, (900, 900, 3), dtype=np.uint8))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "someone@example.org")
    raw = io.BytesIO()
    noise.save(raw, format="PNG", pnginfo=info)
    assert len(raw.getvalue()) > MAX_ORIGINAL_BYTES
    data = encode_original(Image.open(io.BytesIO(raw.getvalue())))
    assert len(data) <= MAX_ORIGINAL_BYTES
    shrunk = Image.open(io.BytesIO(data))
    assert shrunk.width < 900 and shrunk.width == shrunk.height
    assert "Author" not in shrunk.info and b"someone" not in data


def test_seen_to_uint8_maps_unit_floats_to_bytes():
    x = np.linspace(0, 1, 784, dtype=np.float32)
    img = seen_to_uint8(x)
    assert img.shape == (28, 28) and img.dtype == np.uint8
    assert img[0, 0] == 0 and img[-1, -1] == 255


def test_concurrent_writer_processes_lose_no_row(store_target):
    open_store(store_target)
    writers, per_writer = 4, 40
    start_at = time.time() + 1.0  # every process starts inserting at the same moment
    procs = [start_module("tests.support.feedback_writer", store_target, str(per_writer), "--start-at",
                          str(start_at)) for _ in range(writers)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids += [int(line) for line in out.split()]
    assert len(ids) == len(set(ids)) == writers * per_writer
    store = open_store(store_target)
    assert sorted(ids) == [r.id for r in store.rows()]
    assert store.count() == writers * per_writer


def _assert_consistent(db_path):
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for label, seen, original in conn.execute("SELECT label, seen, original FROM feedback"):
        assert 0 <= label <= 9 and len(seen) == 784
        Image.open(io.BytesIO(original)).load()  # every stored drawing is a whole PNG
    conn.close()


def test_writer_killed_inside_a_transaction_leaves_no_partial_row(db_path):
    store = FeedbackStore(db_path)
    store.add(**row_values(0))
    proc = start_module("tests.support.feedback_writer", str(db_path), "5", "--hold")
    try:
        assert proc.stdout.readline().strip() == "inserted"  # 5 rows written, not committed
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    _assert_consistent(db_path)
    assert store.count() == 1
    assert store.add(**row_values(9)) > 0  # the dead writer's lock is gone
    assert store.count() == 2


def test_writer_killed_while_inserting_in_a_loop_leaves_only_whole_rows(db_path):
    FeedbackStore(db_path)
    proc = start_module("tests.support.feedback_writer", str(db_path), "100000")
    try:
        for _ in range(20):  # let it commit some rows, then kill it wherever it is
            proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    _assert_consistent(db_path)
    assert FeedbackStore(db_path).count() >= 20
