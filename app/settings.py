"""Settings from environment variables, with defaults that work from a clean checkout."""
from __future__ import annotations

import ipaddress
import os
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


def settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Flask config keys from DIGIT_CANVAS_WEIGHTS, DIGIT_CANVAS_INSTANCE, DIGIT_CANVAS_MAX_CONTENT_LENGTH,
    DIGIT_CANVAS_MAX_IMAGE_PIXELS, DIGIT_CANVAS_FEEDBACK_BUSY_TIMEOUT_MS, the rate limits
    (DIGIT_CANVAS_PREDICT_LIMIT, DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT, DIGIT_CANVAS_FEEDBACK_LIMIT,
    DIGIT_CANVAS_RATELIMIT_STORAGE, DIGIT_CANVAS_TRUSTED_PROXIES), DIGIT_CANVAS_DATABASE_URL, HOST and PORT; relative paths are relative to the repo."""
    env = os.environ if environ is None else environ
    return {
        "WEIGHTS_PATH": str(resolve_path(env.get("DIGIT_CANVAS_WEIGHTS") or DEFAULT_WEIGHTS)),
        # Feedback database and trained model versions (Flask's instance folder).
        "INSTANCE_PATH": str(resolve_path(env.get("DIGIT_CANVAS_INSTANCE") or DEFAULT_INSTANCE)),
        "MAX_CONTENT_LENGTH": positive_int(env, "DIGIT_CANVAS_MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH),
        "MAX_IMAGE_PIXELS": positive_int(env, "DIGIT_CANVAS_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS),
        # How long a /feedback write waits for a database locked by another process before a 503.
        "FEEDBACK_BUSY_TIMEOUT_MS": positive_int(env, "DIGIT_CANVAS_FEEDBACK_BUSY_TIMEOUT_MS",
                                                 DEFAULT_FEEDBACK_BUSY_TIMEOUT_MS),
        "PREDICT_LIMIT": env.get("DIGIT_CANVAS_PREDICT_LIMIT") or DEFAULT_PREDICT_LIMIT,
        # Networks /predict does not limit ("none": limit every client).
        "PREDICT_LIMIT_EXEMPT": networks(env, "DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT", DEFAULT_PREDICT_LIMIT_EXEMPT),
        "FEEDBACK_LIMIT": env.get("DIGIT_CANVAS_FEEDBACK_LIMIT") or DEFAULT_FEEDBACK_LIMIT,
        "RATELIMIT_STORAGE_URI": env.get("DIGIT_CANVAS_RATELIMIT_STORAGE") or DEFAULT_RATELIMIT_STORAGE,
        # How many reverse proxies in front append to X-Forwarded-For; 0: the header is ignored.
        "TRUSTED_PROXIES": non_negative_int(env, "DIGIT_CANVAS_TRUSTED_PROXIES", 0),
        "DATABASE_URL": env.get("DIGIT_CANVAS_DATABASE_URL") or DEFAULT_DATABASE_URL,
        "HOST": env.get("HOST") or DEFAULT_HOST,
        "PORT": positive_int(env, "PORT", DEFAULT_PORT),
    }


def networks(env: Mapping[str, str], name: str, default: str) -> tuple[IPNetwork, ...]:
    raw = (env.get(name) or default).strip()
    if raw.lower() == "none":
        return ()
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"environment variable {name} must be comma-separated networks or none: {exc}") from None


def resolve_path(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


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
