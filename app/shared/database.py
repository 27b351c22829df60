"""The PostgreSQL database several app servers share (DIGIT_CANVAS_DATABASE_URL): pool and schema.

One database holds the feedback rows and the model registry. Each process opens its own small
connection pool on first use (a pool, its sockets and its threads never cross a fork: gunicorn
workers each get theirs). Every connection has a statement and lock timeout, so no request
waits on the database longer than the caller's timeout; a database that cannot be reached is
DatabaseUnavailable, which the callers turn into a 503 (feedback) or "keep the last good model"
(registry).

The schema is versioned like the SQLite store's: MIGRATIONS[i] brings version i to i + 1, all
of them in one transaction under an advisory lock, so two servers starting at once migrate once.
"""
from __future__ import annotations

import logging
import os
import threading
import urllib.parse
from contextlib import contextmanager
from typing import Callable, Iterator

import psycopg
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3
POOL_MAX_SIZE = 4  # per process: a gunicorn worker has 2 threads and one registry poller
MIGRATION_LOCK = 0x6469_6769  # pg_advisory_xact_lock key: one migrating process at a time


class DatabaseUnavailable(RuntimeError):
    """The shared database cannot be reached (down, restarting, network) or did not answer in time."""


class DatabaseBusy(DatabaseUnavailable):
    """A lock or statement took longer than the timeout (e.g. a long admin transaction)."""


class SchemaError(RuntimeError):
    """The database's schema is newer than this program knows."""


def _v1_feedback(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE feedback (
            id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            created_at    timestamptz      NOT NULL DEFAULT now(),
            label         smallint         NOT NULL CHECK (label BETWEEN 0 AND 9),
            predicted     smallint         NOT NULL CHECK (predicted BETWEEN 0 AND 9),
            confidence    double precision NOT NULL CHECK (confidence BETWEEN 0 AND 1),
            model_version text             NOT NULL,
            seen          bytea            NOT NULL CHECK (length(seen) = 784),
            original      bytea            NOT NULL
        )
        """
    )


def _v2_feedback_indexes(conn: psycopg.Connection) -> None:
    # The same indexes as the SQLite store: `feedback stats` groups by model version and label.
    conn.execute("CREATE INDEX feedback_by_model ON feedback (model_version, label)")
    conn.execute("CREATE INDEX feedback_by_label ON feedback (label)")


def _v3_model_registry(conn: psycopg.Connection) -> None:
    # Versions are immutable rows; the served version is the newest event's (promote or rollback),
    # so the pointer and its history change together in one INSERT.
    conn.execute(
        """
        CREATE TABLE model_versions (
            name       text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
                                                      AND name <> 'shipped'),
            created_at timestamptz NOT NULL DEFAULT now(),
            sha256     text        NOT NULL,
            weights    bytea       NOT NULL,
            card       jsonb
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE model_events (
            id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at       timestamptz NOT NULL DEFAULT now(),
            action   text        NOT NULL CHECK (action IN ('promote', 'rollback')),
            version  text        NOT NULL,
            previous text        NOT NULL,
            note     text        NOT NULL DEFAULT ''
        )
        """
    )


# Append, never edit.
def _v4_allow_not_a_digit(conn: psycopg.Connection) -> None:
    """label may be 10, "this was not a digit" (app.feedback.store.NOT_A_DIGIT), as in SQLite schema 3."""
    conn.execute("ALTER TABLE feedback DROP CONSTRAINT IF EXISTS feedback_label_check")
    conn.execute("ALTER TABLE feedback ADD CONSTRAINT feedback_label_check CHECK (label BETWEEN 0 AND 10)")


MIGRATIONS: list[Callable[[psycopg.Connection], None]] = [
    _v1_feedback, _v2_feedback_indexes, _v3_model_registry, _v4_allow_not_a_digit,
]
SCHEMA_VERSION = len(MIGRATIONS)


def redact(url: str) -> str:
    """The URL without its password, for log lines and messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def is_database_url(url: str | None) -> bool:
    return bool(url) and urllib.parse.urlsplit(url).scheme in ("postgresql", "postgres")


class Database:
    """One shared database: a per-process pool (opened lazily) and the schema check."""

    def __init__(self, url: str, timeout_s: float = 5.0, connect_timeout_s: int = CONNECT_TIMEOUT_S) -> None:
        """``timeout_s``: per statement, lock and pool wait; ``connect_timeout_s``: per new connection
        (short for a serving worker, which must answer; an operator's one-off command can wait longer)."""
        if not is_database_url(url):
            raise ValueError(f"DIGIT_CANVAS_DATABASE_URL must be postgresql://..., got {redact(url)!r}")
        self.url = url
        self.name = redact(url)
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._pool: ConnectionPool | None = None
        self._pool_pid = 0
        self._lock = threading.Lock()

    def _options(self) -> dict:
        ms = max(1, int(self.timeout_s * 1000))
        return {"connect_timeout": self.connect_timeout_s, "application_name": "digit-canvas",
                "options": f"-c statement_timeout={ms} -c lock_timeout={ms} -c idle_in_transaction_session_timeout=60000"}

    def pool(self) -> ConnectionPool:
        """This process's pool; a forked child never uses its parent's (it makes its own)."""
        pid = os.getpid()
        if self._pool is None or self._pool_pid != pid:
            with self._lock:
                if self._pool is None or self._pool_pid != pid:
                    self._pool = ConnectionPool(
                        self.url, min_size=1, max_size=POOL_MAX_SIZE, timeout=self.timeout_s, open=False,
                        kwargs={"autocommit": True, **self._options()}, check=ConnectionPool.check_connection,
                        reconnect_timeout=0, name=f"digit-canvas-{pid}",
                    )
                    self._pool.open(wait=False)
                    self._pool_pid = pid
        return self._pool

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A pooled autocommit connection; every failure to reach or use the server is DatabaseUnavailable
        (DatabaseBusy past the timeout); only an IntegrityError (the caller's values) passes through."""
        try:
            with self.pool().connection() as conn:
                yield conn
        except psycopg.errors.QueryCanceled as exc:  # statement_timeout or lock_timeout
            raise DatabaseBusy(f"database {self.name} did not answer within {self.timeout_s:g} s: {exc}") from exc
        except psycopg.errors.LockNotAvailable as exc:
            raise DatabaseBusy(f"database {self.name} is locked: {exc}") from exc
        except psycopg.OperationalError as exc:  # includes the pool's PoolTimeout
            raise DatabaseUnavailable(f"database {self.name} cannot be reached: {exc}") from exc
        except psycopg.IntegrityError:  # a CHECK or key the caller's values broke: the caller's error
            raise
        except psycopg.Error as exc:  # e.g. a table dropped or restored by hand: cannot serve, not a 500
            raise DatabaseUnavailable(f"database {self.name} cannot be used: {exc}") from exc

    def connect(self) -> psycopg.Connection:
        """A direct connection outside the pool (admin commands, migrations, a master process)."""
        try:
            return psycopg.connect(self.url, autocommit=True, **self._options())
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(f"database {self.name} cannot be reached: {exc}") from exc

    def migrate(self, target: int = SCHEMA_VERSION) -> int:
        """Bring the schema to `target` in one transaction; returns the version found before."""
        with self.connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            found = row[0] if row else 0
            if found > len(MIGRATIONS):
                raise SchemaError(
                    f"database {self.name} has schema version {found}; this program knows up to "
                    f"{len(MIGRATIONS)}. Upgrade the program instead of downgrading the data."
                )
            for version in range(found, target):
                MIGRATIONS[version](conn)
            if target > found:
                conn.execute("DELETE FROM schema_version")
                conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (target,))
        if target > found:
            log.info("database %s migrated from schema %d to %d", self.name, found, target)
        return found

    def close(self) -> None:
        """Close this process's pool (a master before it forks, or a test)."""
        if self._pool is not None and self._pool_pid == os.getpid():
            self._pool.close()
        self._pool = None


_shared: dict[tuple[str, float], Database] = {}


def database(url: str, timeout_s: float = 5.0) -> Database:
    """The one Database per URL of this process, so the feedback store and the registry share a pool."""
    key = (url, float(timeout_s))
    if key not in _shared:
        _shared[key] = Database(url, timeout_s)
    return _shared[key]
