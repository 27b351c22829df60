"""The feedback store on the shared PostgreSQL database, for several app servers behind one address.

A subclass of app/feedback/store.py's FeedbackStore (add, count, rows, arrays, stats, purge), so
the route, the admin commands and retraining do not care which one they get: `open_feedback_store` picks it when DIGIT_CANVAS_DATABASE_URL names a database, SQLite otherwise.

A row is one INSERT ... RETURNING in autocommit: when add() returns an id, the row is committed
(synchronous_commit is the server's, on by default). A database that cannot be reached or does
not answer within the busy timeout is StorageUnavailable / StorageBusy, both FeedbackStoreError,
which /feedback answers with 503 and nothing stored.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import psycopg

from app.feedback.store import BUSY_TIMEOUT_MS, FeedbackStore, FeedbackStoreError, StorageBusy, checked_row_images
from app.shared.database import Database, DatabaseBusy, DatabaseUnavailable, SchemaError, database, is_database_url


class StorageUnavailable(FeedbackStoreError):
    """The shared database cannot be reached; nothing was stored."""


class PostgresFeedbackStore(FeedbackStore):
    """Feedback rows in the shared database; cheap to construct, one pool per process.

    count, rows and arrays are FeedbackStore's (the same SQL but for these two expressions).
    """

    CREATED_AT = """to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
    NO_ORIGINAL = "''::bytea"

    def __init__(self, url: str, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.db: Database = database(url, busy_timeout_ms / 1000)
        self.path = self.db.name  # what messages call the store (the URL without its password)
        with self._errors():
            self.db.migrate()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DatabaseBusy as exc:
            raise StorageBusy(str(exc)) from exc
        except DatabaseUnavailable as exc:
            raise StorageUnavailable(str(exc)) from exc
        except SchemaError as exc:
            raise FeedbackStoreError(str(exc)) from exc

    @contextmanager
    def connect(self, ready: bool = True) -> Iterator[psycopg.Connection]:  # type: ignore[override]
        with self._errors(), self.db.connection() as conn:
            yield conn

    def add(
        self, *, label: int, predicted: int, confidence: float, model_version: str,
        seen: np.ndarray, original_png: bytes,
    ) -> int:
        """Insert one row (committed when this returns); returns its id."""
        seen = checked_row_images(seen, original_png)
        with self.connect() as conn:
            row = conn.execute(
                "INSERT INTO feedback (label, predicted, confidence, model_version, seen, original)"
                " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (int(label), int(predicted), float(confidence), str(model_version), seen.tobytes(),
                 bytes(original_png)),
            ).fetchone()
        return int(row[0])

    def stats(self) -> dict:
        """Counts per label and per model version, and how often the model was right."""
        right = "coalesce(sum((label = predicted)::int), 0)"
        with self.connect() as conn:
            total, n_right = conn.execute(f"SELECT count(*), {right} FROM feedback").fetchone()
            per_label = {
                label: {"count": n, "right": r}
                for label, n, r in conn.execute(f"SELECT label, count(*), {right} FROM feedback GROUP BY label")
            }
            per_model = {
                model: {"count": n, "right": r}
                for model, n, r in conn.execute(
                    f"SELECT model_version, count(*), {right} FROM feedback GROUP BY model_version ORDER BY min(id)"
                )
            }
        return {"total": total, "right": n_right, "per_label": per_label, "per_model": per_model}

    def purge(self) -> int:
        """Delete every row (one statement) and give the space back; returns how many."""
        with self.connect() as conn:
            n = conn.execute("DELETE FROM feedback").rowcount
            conn.execute("VACUUM feedback")
        return n


def open_feedback_store(instance: str | os.PathLike, busy_timeout_ms: int = BUSY_TIMEOUT_MS,
                        database_url: str | None = None) -> FeedbackStore | PostgresFeedbackStore:
    """PostgreSQL when a database URL is given (several servers share it), else the instance's SQLite file."""
    if is_database_url(database_url):
        return PostgresFeedbackStore(database_url, busy_timeout_ms)
    if database_url:
        raise FeedbackStoreError("DIGIT_CANVAS_DATABASE_URL must start with postgresql://")
    return FeedbackStore.in_folder(instance, busy_timeout_ms)
