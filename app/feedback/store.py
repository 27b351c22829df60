"""The drawings users corrected or confirmed, kept in one SQLite file for retraining.

Several gunicorn workers write to the same file, so: WAL journal (readers never block the
writer), a busy timeout (writers queue instead of failing; past it, StorageBusy), and every
write in one ``BEGIN IMMEDIATE`` transaction (a killed process leaves either the whole row or
nothing).
A connection is opened per use and closed right after; nothing is shared across forks.

No personal data is stored: no address, no user agent, no cookie. The original drawing is
re-encoded as PNG (which drops any metadata chunks) and shrunk until it fits MAX_ORIGINAL_BYTES.
"""
from __future__ import annotations

import io
import logging
import math
import os
import sqlite3
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

log = logging.getLogger(__name__)

DB_FILENAME = "feedback.sqlite3"
MAX_ORIGINAL_BYTES = 256 * 1024
MAX_ORIGINAL_SIDE = 1024  # pixels; a canvas drawing is smaller, a photo is cut down first
SEEN_SHAPE = (28, 28)
BUSY_TIMEOUT_MS = 10_000  # admin commands; the web service passes its own, shorter one


def _v1_create_table(conn: sqlite3.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE feedback (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at    TEXT    NOT NULL,
            label         INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
            predicted     INTEGER NOT NULL CHECK (predicted BETWEEN 0 AND 9),
            confidence    REAL    NOT NULL CHECK (confidence BETWEEN 0 AND 1),
            model_version TEXT    NOT NULL,
            seen          BLOB    NOT NULL CHECK (length(seen) = 784),
            original      BLOB    NOT NULL
        )
        """
    )


def _v2_add_indexes(conn: sqlite3.Connection) -> None:
    # `feedback stats` groups by model version and label; export filters by id ranges.
    conn.execute("CREATE INDEX feedback_by_model ON feedback (model_version, label)")
    conn.execute("CREATE INDEX feedback_by_label ON feedback (label)")


NOT_A_DIGIT = 10  # the label of "this was not a digit" (the 11th output of model.training.honest)


def _v3_allow_not_a_digit(conn: sqlite3.Connection) -> None:
    """label may be 10, "this was not a digit". SQLite cannot change a CHECK: rebuild the table
    (same columns, same ids, same order), then its indexes."""
    conn.execute(
        """
        CREATE TABLE feedback_v3 (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at    TEXT    NOT NULL,
            label         INTEGER NOT NULL CHECK (label BETWEEN 0 AND 10),
            predicted     INTEGER NOT NULL CHECK (predicted BETWEEN 0 AND 9),
            confidence    REAL    NOT NULL CHECK (confidence BETWEEN 0 AND 1),
            model_version TEXT    NOT NULL,
            seen          BLOB    NOT NULL CHECK (length(seen) = 784),
            original      BLOB    NOT NULL
        )
        """
    )
    conn.execute("INSERT INTO feedback_v3 SELECT * FROM feedback ORDER BY id")
    conn.execute("DROP TABLE feedback")
    conn.execute("ALTER TABLE feedback_v3 RENAME TO feedback")
    _v2_add_indexes(conn)


# MIGRATIONS[i] brings a database from user_version i to i + 1. Append, never edit.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1_create_table, _v2_add_indexes, _v3_allow_not_a_digit]
SCHEMA_VERSION = len(MIGRATIONS)


class FeedbackStoreError(RuntimeError):
    """The database cannot be used (newer schema, unreadable file)."""


class StorageBusy(FeedbackStoreError):
    """Another process held the database's write lock for longer than the busy timeout."""


def is_busy(exc: BaseException) -> bool:
    """SQLite gave up waiting for a lock (SQLITE_BUSY / SQLITE_LOCKED and their extended codes)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in (
        sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@dataclass(frozen=True)
class FeedbackRow:
    id: int
    created_at: str
    label: int  # 0-9, or NOT_A_DIGIT (10)
    predicted: int
    confidence: float
    model_version: str
    seen: np.ndarray  # uint8 (28, 28), white ink on black: exactly what the model saw * 255
    original: bytes  # PNG


def open_connection(path: str | os.PathLike, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                    create: bool = True) -> sqlite3.Connection:
    """A fresh connection in autocommit mode; transactions are opened explicitly.

    create=False fails on a missing file instead of silently starting an empty database (a file
    deleted or being restored at run time must not turn into a second, empty store).
    """
    target = os.fspath(path) if create else "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=rw"
    conn = sqlite3.connect(target, timeout=busy_timeout_ms / 1000, isolation_level=None, uri=not create)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: all or nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations in one transaction; returns the version found before."""
    with transaction(conn):
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found > len(MIGRATIONS):
            raise FeedbackStoreError(
                f"feedback database has schema version {found}; this program knows up to "
                f"{len(MIGRATIONS)}. Upgrade the program instead of downgrading the data."
            )
        for version in range(found, target):
            MIGRATIONS[version](conn)
        if target > found:
            conn.execute(f"PRAGMA user_version = {int(target)}")
    if target > found:
        log.info("feedback database migrated from schema %d to %d", found, target)
    return found


def encode_original(image: Image.Image, max_bytes: int = MAX_ORIGINAL_BYTES) -> bytes:
    """The drawing as a PNG of at most max_bytes, downscaled in steps if it is larger."""
    if image.mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
        image = image.convert("RGBA")
    if max(image.size) > MAX_ORIGINAL_SIDE:
        image = image.copy()
        image.thumbnail((MAX_ORIGINAL_SIDE, MAX_ORIGINAL_SIDE), Image.Resampling.LANCZOS)
    while True:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        data = buf.getvalue()
        if len(data) <= max_bytes:
            return data
        w, h = image.size
        if max(w, h) <= 28:
            raise ValueError(f"cannot shrink the drawing below {max_bytes} bytes")
        # PNG size grows about with the pixel count: aim a little below the limit in one step.
        scale = min(0.8, 0.9 * math.sqrt(max_bytes / len(data)))
        image = image.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.Resampling.LANCZOS)


def seen_to_uint8(x: np.ndarray) -> np.ndarray:
    """The model's input (784 floats in [0, 1]) as the 28x28 uint8 image it stands for."""
    x = np.clip(np.asarray(x, dtype=np.float32).reshape(SEEN_SHAPE), 0.0, 1.0)
    return (x * 255.0 + 0.5).astype(np.uint8)  # rounded like the /predict preview


def checked_row_images(seen: np.ndarray, original_png: bytes) -> np.ndarray:
    """The seen image as contiguous uint8 (28, 28); ValueError for a wrong shape or an oversized original."""
    seen = np.ascontiguousarray(seen, dtype=np.uint8)
    if seen.shape != SEEN_SHAPE:
        raise ValueError(f"seen image must be {SEEN_SHAPE} uint8, got {seen.shape}")
    if len(original_png) > MAX_ORIGINAL_BYTES:
        raise ValueError(f"original drawing is {len(original_png)} bytes, limit {MAX_ORIGINAL_BYTES}")
    return seen


class FeedbackStore:
    """One SQLite file of feedback rows; cheap to construct, safe to use from many processes."""

    # SQL that differs between databases (app/feedback/postgres.py subclasses this store).
    CREATED_AT = "created_at"
    NO_ORIGINAL = "x''"

    def __init__(self, path: str | os.PathLike, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect(ready=False) as conn:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                log.warning("feedback database %s is in %s mode, not WAL", self.path, mode)
            migrate(conn)

    @classmethod
    def in_folder(cls, folder: str | os.PathLike, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> "FeedbackStore":
        return cls(Path(folder) / DB_FILENAME, busy_timeout_ms)

    @contextmanager
    def connect(self, ready: bool = True) -> Iterator[sqlite3.Connection]:
        conn = open_connection(self.path, self.busy_timeout_ms, create=not ready)
        try:
            if ready:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:
                    raise FeedbackStoreError(
                        f"feedback database {self.path} has schema {version}, expected {SCHEMA_VERSION}"
                    )
            yield conn
        finally:
            conn.close()

    def add(
        self, *, label: int, predicted: int, confidence: float, model_version: str,
        seen: np.ndarray, original_png: bytes,
    ) -> int:
        """Insert one row in one transaction; returns its id. StorageBusy if the lock never came."""
        seen = checked_row_images(seen, original_png)
        created_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        try:
            with self.connect() as conn, transaction(conn):
                cur = conn.execute(
                    "INSERT INTO feedback (created_at, label, predicted, confidence, model_version, seen,"
                    " original) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (created_at, int(label), int(predicted), float(confidence), str(model_version),
                     seen.tobytes(), bytes(original_png)),
                )
                return int(cur.lastrowid)
        except sqlite3.OperationalError as exc:
            if is_busy(exc):  # nothing was written: BEGIN IMMEDIATE never got the lock
                raise StorageBusy(f"feedback database {self.path} is locked: {exc}") from exc
            raise

    def count(self) -> int:
        with self.connect() as conn:
            return conn.execute("SELECT count(*) FROM feedback").fetchone()[0]

    def rows(self, with_original: bool = True) -> Iterator[FeedbackRow]:
        """Every row in id order (read in one snapshot)."""
        original = "original" if with_original else self.NO_ORIGINAL
        with self.connect() as conn:
            cur = conn.execute(
                f"SELECT id, {self.CREATED_AT}, label, predicted, confidence, model_version, seen,"
                f" {original} FROM feedback ORDER BY id"
            )
            for row in cur:
                yield FeedbackRow(
                    *row[:6],
                    seen=np.frombuffer(row[6], dtype=np.uint8).reshape(SEEN_SHAPE),
                    original=bytes(row[7]),
                )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids int64 (n,), images uint8 (n, 28, 28), labels uint8 (n,)) for training."""
        rows = list(self.rows(with_original=False))
        ids = np.array([r.id for r in rows], dtype=np.int64)
        images = np.stack([r.seen for r in rows]) if rows else np.zeros((0, *SEEN_SHAPE), np.uint8)
        labels = np.array([r.label for r in rows], dtype=np.uint8)
        return ids, images, labels

    def stats(self) -> dict:
        """Counts per label and per model version, and how often the model was right."""
        with self.connect() as conn:
            total, right = conn.execute(
                "SELECT count(*), coalesce(sum(label = predicted), 0) FROM feedback"
            ).fetchone()
            per_label = {
                label: {"count": n, "right": r}
                for label, n, r in conn.execute(
                    "SELECT label, count(*), sum(label = predicted) FROM feedback GROUP BY label"
                )
            }
            per_model = {
                model: {"count": n, "right": r}
                for model, n, r in conn.execute(
                    "SELECT model_version, count(*), sum(label = predicted) FROM feedback"
                    " GROUP BY model_version ORDER BY min(id)"
                )
            }
        return {"total": total, "right": right, "per_label": per_label, "per_model": per_model}

    def purge(self) -> int:
        """Delete every row (one transaction) and give the space back; returns how many."""
        with self.connect() as conn:
            with transaction(conn):
                n = conn.execute("DELETE FROM feedback").rowcount
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("VACUUM")
        return n
