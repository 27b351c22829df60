"""Per request: the time it took, one JSON access-log line and the request metrics.

The line goes to the logger "app.access" (stderr under gunicorn, see app/middleware/logging_setup.py):
method, path, status, latency, request id, model version, bytes, client address. Paths a
client makes up are logged (truncated) but never used as a metric label: the label is the
matched route, or "unmatched".
"""
from __future__ import annotations

import json
import logging
import time

from flask import Flask, Response, current_app, g, request

from app.middleware.metrics import Metrics, served_version
from app.middleware.request_id import request_id

log = logging.getLogger("app.access")

UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
INPUT_BLUEPRINTS = frozenset({"api", "feedback"})  # their POST routes take the users' drawings
MAX_LOGGED_PATH = 256


def start_timer() -> None:
    g.request_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    started = g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    endpoint = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    model_version = served_version(current_app.extensions["model_holder"])
    record_metrics(current_app.extensions["metrics"], endpoint, response.status_code, seconds, model_version)
    if log.isEnabledFor(logging.INFO):
        log.info(json.dumps({
            "method": request.method,
            "path": request.path[:MAX_LOGGED_PATH],
            "status": response.status_code,
            "latency_ms": round(seconds * 1000, 3),
            "request_id": request_id(),
            "model": model_version,
            "bytes": response.content_length,
            "remote_addr": request.remote_addr,
        }))
    return response


def record_metrics(metrics: Metrics, endpoint: str, status: int, seconds: float, model_version: str | None) -> None:
    method = request.method if request.method in KNOWN_METHODS else "other"
    metrics.requests.labels(endpoint, method, str(status)).inc()
    metrics.latency.labels(endpoint).observe(seconds)
    metrics.serving(model_version)
    error_code = g.get("error_code")
    if error_code is not None and 400 <= status < 500 and is_input_route():
        metrics.rejected.labels(error_code).inc()


def is_input_route() -> bool:
    """POST /predict, /feedback (and any other POST route of those blueprints)."""
    return request.method == "POST" and request.blueprint in INPUT_BLUEPRINTS


def init_app(app: Flask) -> None:
    """Register first, so the timer starts before any other before_request hook runs."""
    app.before_request(start_timer)
    app.after_request(finish_request)
