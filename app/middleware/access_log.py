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

from flask import Flask, Request, Response, current_app, g, request

from app.middleware.metrics import served_version
from app.middleware.request_id import request_id

log = logging.getLogger("app.access")

UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})
INPUT_BLUEPRINTS = frozenset({"api", "feedback"})  # their POST routes take the users' drawings
MAX_LOGGED_PATH = 256


def start_timer() -> None:
    g.request_started = time.perf_counter()


def finish_request(response: Response) -> Response:
    # Flask's request/g/current_app are proxies (about 1.5 us a look-up): each is resolved once here.
    req, ctx_g, app = request._get_current_object(), g._get_current_object(), current_app._get_current_object()
    started = ctx_g.get("request_started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    endpoint = req.url_rule.rule if req.url_rule is not None else UNMATCHED
    model_version = served_version(app.extensions["model_holder"])
    status = response.status_code
    metrics = app.extensions["metrics"]
    method = req.method if req.method in KNOWN_METHODS else "other"
    metrics.child(metrics.requests, endpoint, method, str(status)).inc()
    metrics.child(metrics.latency, endpoint).observe(seconds)
    metrics.serving(model_version)
    error_code = ctx_g.get("error_code")
    if error_code is not None and 400 <= status < 500 and is_input_route(req):
        metrics.rejected.labels(error_code).inc()  # not cached: a code can be any string a view chose
    if log.isEnabledFor(logging.INFO):
        log.info(json.dumps({
            "method": req.method,
            "path": req.path[:MAX_LOGGED_PATH],
            "status": status,
            "latency_ms": round(seconds * 1000, 3),
            "request_id": request_id(),
            "model": model_version,
            "bytes": response.content_length,
            "remote_addr": req.remote_addr,
        }))
    return response


def is_input_route(req: Request) -> bool:
    """POST /predict, /feedback (and any other POST route of those blueprints)."""
    return req.method == "POST" and req.blueprint in INPUT_BLUEPRINTS


def init_app(app: Flask) -> None:
    """Register first, so the timer starts before any other before_request hook runs."""
    app.before_request(start_timer)
    app.after_request(finish_request)
