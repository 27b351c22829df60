"""The model registry every app server shares: versions, the served one and its history in PostgreSQL.

Why the database and not a shared folder (NFS): the servers already need the database for
feedback; a promotion is one INSERT into model_events (the served version is the newest event's,
so pointer and history cannot disagree), serialised by an advisory lock; and there is no
network-filesystem semantics to trust (rename atomicity, flock, attribute caching that hides a
new pointer for up to a minute).

Each worker process polls the newest event once per interval in a background thread (one tiny
query, never on a request's path). When it changes, the poller writes the version's weights from
the database into <instance>/models-cache/<version>-<sha>/ (staging folder + rename, as the file
registry does) *before* publishing it, so ModelHolder only ever loads a complete local file and a
request never waits for the database. If the database cannot be reached the worker keeps serving
its last good model and says so (``unreachable``, shown by /healthz); a worker that starts while
the database is down serves the version the cache last recorded (models-cache/ACTIVE), else the
shipped weights.

The interface is ModelRegistry's (versions, active_version, path_of, card, history, staging_dir,
add, discard, promote, rollback), so the admin commands and retraining use either.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from datetime import timezone
from pathlib import Path
from typing import Iterator, NamedTuple

import psycopg

from app.serving.model_registry import (
    CARD_NAME, SHIPPED, STAGING_PREFIX, VERSION_RE, WEIGHTS_NAME, ModelRegistry, RegistryError, activation_stack,
    load_servable, _version_key,
)
from app.shared.database import Database, DatabaseUnavailable, SchemaError, database, is_database_url
from model.artifacts.weights_file import atomic_write_bytes

log = logging.getLogger(__name__)

REGISTRY_LOCK = 0x6469_6763  # pg_advisory_xact_lock key: one promote/rollback/add at a time
CACHE_NAME = "models-cache"
LAST_KNOWN = "ACTIVE"  # in the cache: "version sha256" of the last version seen in the database
NEWEST_EVENT = (
    "SELECT e.id, e.version, v.sha256 FROM model_events e LEFT JOIN model_versions v ON v.name = e.version"
    " ORDER BY e.id DESC LIMIT 1"
)


class Served(NamedTuple):
    """What this process last saw in the database (event -1: from the local cache, database unseen)."""
    event: int
    version: str
    sha256: str | None


class RegistryUnavailable(RegistryError):
    """The shared database cannot be reached; nothing was changed."""


class SharedRegistry:
    unreachable: str | None  # why the database cannot be reached now; None when it can

    def __init__(self, url: str, instance: str | os.PathLike, shipped: str | os.PathLike,
                 poll_interval: float = 1.0, timeout_s: float = 3.0) -> None:
        self.db: Database = database(url, timeout_s)
        self.shipped = Path(shipped)
        self.root = Path(instance) / "models"  # staging folders of `retrain` only
        self.cache = Path(instance) / CACHE_NAME
        self.poll_interval = poll_interval
        self.unreachable = None
        self._served: Served | None = None
        self._migrated = False
        self._thread: threading.Thread | None = None
        self._thread_pid = 0
        self._stop = threading.Event()

    # -- the database ----------------------------------------------------------
    @contextmanager
    def _connection(self, transaction: bool = False) -> Iterator[psycopg.Connection]:
        try:
            if not self._migrated:
                self.db.migrate()
                self._migrated = True
            with self.db.connection() as conn:
                if transaction:
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s)", (REGISTRY_LOCK,))
                        yield conn
                else:
                    yield conn
        except DatabaseUnavailable as exc:
            raise RegistryUnavailable(f"the model registry is unreachable: {exc}") from exc
        except SchemaError as exc:
            raise RegistryError(str(exc)) from exc

    # -- reading (admin commands) ----------------------------------------------
    def versions(self) -> list[str]:
        """Trained versions in the database, oldest first."""
        with self._connection() as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM model_versions")]
        return sorted(names, key=_version_key)

    def active_version(self) -> str:
        with self._connection() as conn:
            return _newest(conn).version

    def path_of(self, version: str) -> Path:
        """A local file holding `version` (written from the database into the cache if needed)."""
        if version == SHIPPED:
            return self.shipped
        if not VERSION_RE.match(version):
            raise RegistryError(f"{version!r} is not a valid version name")
        with self._connection() as conn:
            row = conn.execute("SELECT sha256 FROM model_versions WHERE name = %s", (version,)).fetchone()
            if row is None:
                raise RegistryError(f"no version {version} in the model registry")
            return self._materialise(conn, version, row[0])

    def active_path(self) -> Path:
        """The file this process should serve: the version the poller last saw (the database's now if none)."""
        served = self._served
        if served is None:
            return self.path_of(self.active_version())
        return self.shipped if served.version == SHIPPED else self._cache_dir(served.version, served.sha256) / WEIGHTS_NAME

    def card(self, version: str) -> dict:
        if version == SHIPPED:
            return ModelRegistry(self.root, self.shipped).card(SHIPPED)
        with self._connection() as conn:
            row = conn.execute("SELECT card FROM model_versions WHERE name = %s", (version,)).fetchone()
        return row[0] if row and isinstance(row[0], dict) else {}

    def history(self) -> list[dict]:
        with self._connection() as conn:
            rows = conn.execute("SELECT at, action, version, previous, note FROM model_events ORDER BY id").fetchall()
        return [_event(*row) for row in rows]

    def activation_stack(self) -> list[str]:
        return activation_stack(self.history(), self.active_version())

    # -- writing (admin commands, retrain) -------------------------------------
    def staging_dir(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=self.root, prefix=STAGING_PREFIX))

    def discard(self, staging: Path) -> None:
        shutil.rmtree(staging, ignore_errors=True)

    def add(self, staging: Path, version: str) -> Path:
        """Store a finished staging folder's weights (and card) as `version`; the folder is removed."""
        if version == SHIPPED or not VERSION_RE.match(version):
            raise RegistryError(f"{version!r} is not a valid version name")
        data = (staging / WEIGHTS_NAME).read_bytes()
        load_servable(staging / WEIGHTS_NAME)
        card = _read_json(staging / CARD_NAME)
        sha = hashlib.sha256(data).hexdigest()
        with self._connection(transaction=True) as conn:
            if conn.execute("SELECT 1 FROM model_versions WHERE name = %s", (version,)).fetchone():
                raise RegistryError(f"version {version} already exists")
            conn.execute("INSERT INTO model_versions (name, sha256, weights, card) VALUES (%s, %s, %s, %s)",
                         (version, sha, data, psycopg.types.json.Jsonb(card) if card is not None else None))
            path = self._materialise(conn, version, sha)
        self.discard(staging)
        return path

    def promote(self, version: str, note: str = "") -> str:
        """Serve `version` on every server; returns the version it replaces."""
        with self._connection(transaction=True) as conn:
            self._check_servable(conn, version)
            previous = _newest(conn).version
            _insert_event(conn, "promote", version, previous, note)
            return previous

    def rollback(self, note: str = "") -> str:
        """Serve the version that was served before the current one, on every server; returns it."""
        with self._connection(transaction=True) as conn:
            rows = conn.execute("SELECT at, action, version, previous, note FROM model_events ORDER BY id").fetchall()
            stack = activation_stack([_event(*r) for r in rows], _newest(conn).version)
            if len(stack) < 2:
                raise RegistryError("nothing to roll back to: the shipped weights are already served")
            current, target = stack[-1], stack[-2]
            self._check_servable(conn, target)
            _insert_event(conn, "rollback", target, current, note)
            return target

    def _check_servable(self, conn: psycopg.Connection, version: str) -> None:
        """Refuse a version no worker could load (unknown, or its stored file is not servable):
        the checks of the file registry, on the file this machine's workers would load."""
        if version == SHIPPED:
            load_servable(self.shipped)
            return
        row = conn.execute("SELECT sha256 FROM model_versions WHERE name = %s", (version,)).fetchone()
        if row is None:
            raise RegistryError(f"no version {version} in the model registry")
        load_servable(self._materialise(conn, version, row[0]))

    # -- the local cache ------------------------------------------------------
    def _cache_dir(self, version: str, sha256: str | None) -> Path:
        return self.cache / f"{version}-{(sha256 or 'unknown')[:16]}"

    def _materialise(self, conn: psycopg.Connection, version: str, sha256: str) -> Path:
        """The version's weights (and card) as local files, written whole before they appear."""
        target = self._cache_dir(version, sha256)
        if (target / WEIGHTS_NAME).is_file():
            return target / WEIGHTS_NAME
        row = conn.execute("SELECT weights, card FROM model_versions WHERE name = %s", (version,)).fetchone()
        if row is None:
            raise RegistryError(f"no version {version} in the model registry")
        self.cache.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.cache, prefix=STAGING_PREFIX))
        try:
            atomic_write_bytes(staging / WEIGHTS_NAME, bytes(row[0]))
            if row[1] is not None:
                atomic_write_bytes(staging / CARD_NAME, json.dumps(row[1]).encode("utf-8"))
            for path in [staging, *staging.iterdir()]:
                path.chmod(0o755 if path.is_dir() else 0o644)
            try:
                os.rename(staging, target)
            except OSError:  # another worker of this server got there first: theirs is the same bytes
                if not (target / WEIGHTS_NAME).is_file():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target / WEIGHTS_NAME

    def _remember(self, served: Served) -> None:
        """Record the served version locally, for a worker that starts while the database is down."""
        self.cache.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.cache / LAST_KNOWN, f"{served.version} {served.sha256 or ''}\n".encode("utf-8"))

    def _last_known(self) -> Served:
        try:
            version, _, sha = (self.cache / LAST_KNOWN).read_text(encoding="utf-8").strip().partition(" ")
        except (OSError, UnicodeDecodeError):
            return Served(-1, SHIPPED, None)
        if version != SHIPPED and not (self._cache_dir(version, sha) / WEIGHTS_NAME).is_file():
            return Served(-1, SHIPPED, None)
        return Served(-1, version or SHIPPED, sha or None)

    # -- what a worker serves --------------------------------------------------
    def poll(self) -> Served:
        """Look at the database once: publish its served version (cached locally first), or record why not."""
        try:
            with self._connection() as conn:
                served = _newest(conn)
                if served.version != SHIPPED:
                    self._materialise(conn, served.version, served.sha256)
        except (RegistryError, OSError, psycopg.Error) as exc:
            if self.unreachable is None:
                log.error("pid %d: %s; still serving %s", os.getpid(), exc,
                          self._served.version if self._served else "the last version cached here")
            self.unreachable = str(exc)
            if self._served is None:
                self._served = self._last_known()
            return self._served
        if self.unreachable is not None:
            log.info("pid %d: the model registry is reachable again", os.getpid())
        self.unreachable = None
        if served != self._served:
            self._remember(served)
            self._served = served
        return served

    def pointer_signature(self) -> Served:
        """What ModelHolder compares: the served version as last polled. The first call in a process
        polls now and starts this process's poller thread (gunicorn's master stops its own, close())."""
        if self._thread_pid != os.getpid():
            if self._served is None:
                self.poll()
            self._start_poller()
        return self._served

    def _start_poller(self) -> None:
        self._thread_pid = os.getpid()
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll_forever, name="model-registry-poller", daemon=True)
        self._thread.start()

    def _poll_forever(self) -> None:
        while not self._stop.wait(self.poll_interval):
            self.poll()

    def close(self) -> None:
        """Stop polling and close this process's pool (gunicorn's master does before it forks)."""
        self._stop.set()
        if self._thread is not None and self._thread_pid == os.getpid():
            self._thread.join(timeout=10)
        self._thread = None
        self.db.close()


def _newest(conn: psycopg.Connection) -> Served:
    row = conn.execute(NEWEST_EVENT).fetchone()
    if row is None:
        return Served(0, SHIPPED, None)
    return Served(int(row[0]), row[1], row[2])


def _insert_event(conn: psycopg.Connection, action: str, version: str, previous: str, note: str) -> None:
    conn.execute("INSERT INTO model_events (action, version, previous, note) VALUES (%s, %s, %s, %s)",
                 (action, version, previous, note or ""))


def _event(at, action: str, version: str, previous: str, note: str) -> dict:
    """A history entry in the file registry's shape (HISTORY.jsonl)."""
    event = {"at": at.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
             "action": action, "version": version, "previous": previous}
    if note:
        event["note"] = note
    return event


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def open_registry(instance: str | os.PathLike, shipped: str | os.PathLike, database_url: str | None = None,
                  poll_interval: float = 1.0) -> ModelRegistry | SharedRegistry:
    """The shared registry when a database URL is given, else the instance folder's."""
    if is_database_url(database_url):
        return SharedRegistry(database_url, instance, shipped, poll_interval)
    if database_url:
        raise RegistryError("DIGIT_CANVAS_DATABASE_URL must start with postgresql://")
    return ModelRegistry.in_instance(instance, shipped)
