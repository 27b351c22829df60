"""Settings from environment variables, read once, typed, with defaults that work from a clean checkout.

Imports nothing but the standard library: gunicorn's config reads it before any worker loads NumPy.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_WEIGHTS = "weights/mlp.npz"
DEFAULT_INSTANCE = "instance"
DEFAULT_MAX_CONTENT_LENGTH = 5 * 1024 * 1024  # bytes of a request body (a 280x280 PNG is ~10 KB)
DEFAULT_MAX_IMAGE_PIXELS = 16_000_000  # 4000x4000: any phone photo, not a decompression bomb
MAX_BATCH_IMAGES = 64  # images in one POST /predict/batch
DEFAULT_FEEDBACK_BUSY_TIMEOUT_MS = 5000  # a worker thread waits at most this long; /predict keeps the others
# Per client address and per worker process (memory:// counts in each worker on its own).
DEFAULT_PREDICT_LIMIT = "120/minute;20/second"
DEFAULT_FEEDBACK_LIMIT = "30/minute"
DEFAULT_RATELIMIT_STORAGE = "memory://"
# /predict from the machine itself (health probes, benchmarks, batch jobs next to the server) is the
# operator's own traffic. Behind a proxy set DIGIT_CANVAS_TRUSTED_PROXIES so clients are not "local".
DEFAULT_PREDICT_LIMIT_EXEMPT = "127.0.0.0/8,::1"
# A PostgreSQL URL (postgresql://user:password@host/db): feedback and the model registry shared by
# several servers. Empty: the instance folder's SQLite file and models/ (one machine).
DEFAULT_DATABASE_URL = ""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


DEFAULT_GUNICORN_THREADS = 2
DEFAULT_GUNICORN_MAX_REQUESTS = 50000
DEFAULT_READ_TIMEOUT = 10.0  # seconds a request may take to arrive (app/deploy/gunicorn_worker.py)
DEFAULT_WORKER_CONNECTIONS = 200  # open connections per worker, slow ones included (docs/operator.md)


@dataclass(frozen=True)
class Settings:
    """Every setting of the service, read from the environment once (``Settings.from_env()``).

    The app factory takes ``flask_config()``, the admin CLI takes the two paths, gunicorn's
    config takes the server part (bind, workers, threads, recycling, read deadline). Relative
    paths are relative to the repository, for the app and the CLI alike, whatever the cwd.
    """

    weights_path: Path  # DIGIT_CANVAS_WEIGHTS: the shipped weights, served when nothing is promoted
    instance_path: Path  # DIGIT_CANVAS_INSTANCE: feedback database and trained versions (Flask's instance folder)
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    # How long a /feedback write waits for a database locked by another process before a 503.
    feedback_busy_timeout_ms: int = DEFAULT_FEEDBACK_BUSY_TIMEOUT_MS
    predict_limit: str = DEFAULT_PREDICT_LIMIT
    predict_limit_exempt: tuple[IPNetwork, ...] = ()  # networks /predict does not limit
    feedback_limit: str = DEFAULT_FEEDBACK_LIMIT
    ratelimit_storage_uri: str = DEFAULT_RATELIMIT_STORAGE
    # How many reverse proxies in front append to X-Forwarded-For; 0: the header is ignored.
    trusted_proxies: int = 0
    database_url: str = DEFAULT_DATABASE_URL  # DIGIT_CANVAS_DATABASE_URL: several servers share it (docs/deploy.md)
    # gunicorn only (HOST, PORT, WEB_CONCURRENCY, GUNICORN_THREADS, GUNICORN_MAX_REQUESTS,
    # GUNICORN_REQUEST_READ_TIMEOUT): not Flask config, the app never reads them.
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    workers: int = 1
    threads: int = DEFAULT_GUNICORN_THREADS
    max_requests: int = DEFAULT_GUNICORN_MAX_REQUESTS
    request_read_timeout: float = DEFAULT_READ_TIMEOUT
    worker_connections: int = DEFAULT_WORKER_CONNECTIONS  # GUNICORN_WORKER_CONNECTIONS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings of this process (``environ`` for tests); a bad value raises ValueError naming it."""
        env = os.environ if environ is None else environ
        return cls(
            weights_path=resolve_path(env.get("DIGIT_CANVAS_WEIGHTS") or DEFAULT_WEIGHTS),
            instance_path=resolve_path(env.get("DIGIT_CANVAS_INSTANCE") or DEFAULT_INSTANCE),
            max_content_length=positive_int(env, "DIGIT_CANVAS_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
            max_image_pixels=positive_int(env, "DIGIT_CANVAS_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS),
            feedback_busy_timeout_ms=positive_int(env, "DIGIT_CANVAS_FEEDBACK_BUSY_TIMEOUT_MS",
                                                  DEFAULT_FEEDBACK_BUSY_TIMEOUT_MS),
            predict_limit=env.get("DIGIT_CANVAS_PREDICT_LIMIT") or DEFAULT_PREDICT_LIMIT,
            predict_limit_exempt=networks(env, "DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT", DEFAULT_PREDICT_LIMIT_EXEMPT),
            feedback_limit=env.get("DIGIT_CANVAS_FEEDBACK_LIMIT") or DEFAULT_FEEDBACK_LIMIT,
            ratelimit_storage_uri=env.get("DIGIT_CANVAS_RATELIMIT_STORAGE") or DEFAULT_RATELIMIT_STORAGE,
            trusted_proxies=non_negative_int(env, "DIGIT_CANVAS_TRUSTED_PROXIES", 0),
            database_url=env.get("DIGIT_CANVAS_DATABASE_URL") or DEFAULT_DATABASE_URL,
            host=env.get("HOST") or DEFAULT_HOST,
            port=positive_int(env, "PORT", DEFAULT_PORT),
            workers=positive_int(env, "WEB_CONCURRENCY", os.cpu_count() or 1),
            threads=positive_int(env, "GUNICORN_THREADS", DEFAULT_GUNICORN_THREADS),
            max_requests=positive_int(env, "GUNICORN_MAX_REQUESTS", DEFAULT_GUNICORN_MAX_REQUESTS),
            request_read_timeout=positive_float(env, "GUNICORN_REQUEST_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
            worker_connections=positive_int(env, "GUNICORN_WORKER_CONNECTIONS", DEFAULT_WORKER_CONNECTIONS),
        )

    @property
    def bind(self) -> str:
        """gunicorn's bind address, host:port."""
        return f"{self.host}:{self.port}"

    def flask_config(self) -> dict[str, Any]:
        """The Flask config keys the app reads (the server part stays out: the app never binds)."""
        return {
            "WEIGHTS_PATH": str(self.weights_path),
            "INSTANCE_PATH": str(self.instance_path),
            "MAX_CONTENT_LENGTH": self.max_content_length,
            "MAX_IMAGE_PIXELS": self.max_image_pixels,
            "FEEDBACK_BUSY_TIMEOUT_MS": self.feedback_busy_timeout_ms,
            "PREDICT_LIMIT": self.predict_limit,
            "PREDICT_LIMIT_EXEMPT": self.predict_limit_exempt,
            "FEEDBACK_LIMIT": self.feedback_limit,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_uri,
            "TRUSTED_PROXIES": self.trusted_proxies,
            "DATABASE_URL": self.database_url,
        }


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Flask config keys of ``Settings.from_env(environ)`` (what the app factory starts from)."""
    return Settings.from_env(environ).flask_config()


def networks(env: Mapping[str, str], name: str, default: str) -> tuple[IPNetwork, ...]:
    raw = (env.get(name) or default).strip()
    if raw.lower() == "none":
        return ()
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be comma-separated networks or none: {exc}") from None


def resolve_path(path: str | os.PathLike) -> Path:
    """An absolute path: a relative one is relative to the repository (not the cwd), normalised."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else Path(os.path.normpath(REPO_ROOT / path))


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = non_negative_int(env, name, default)
    if value < 1:
        raise ValueError(f"environment variable {name} must be positive, got {value}")
    return value


def non_negative_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"environment variable {name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"environment variable {name} must not be negative, got {value}")
    return value


def positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        raise ValueError(f"environment variable {name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise ValueError(f"environment variable {name} must be a positive number, got {raw!r}")
    return value
