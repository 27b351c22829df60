"""Logging under gunicorn: the app's own lines join gunicorn's error log, and each request's
JSON access line is written bare to stderr (one JSON object per line, easy to parse).

Without this, the "app" loggers have no handler and Python's default WARNING level, so
their INFO lines (e.g. "now serving model ...") are lost.
"""
from __future__ import annotations

import logging
import sys

from flask import has_request_context

from app.middleware.request_id import request_id


class RequestIdFilter(logging.Filter):
    """Appends the request id to the app's log lines written while a request is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("app") and record.name != "app.access" and has_request_context():
            rid = request_id()
            message = record.getMessage()
            if rid not in message:
                record.msg, record.args = f"{message} [request_id {rid}]", None
        return True


def configure_for_gunicorn(error_log: logging.Logger) -> None:
    """Route the "app" loggers to gunicorn's error-log handlers (the same objects, which gunicorn
    reopens on SIGUSR1) and "app.access" to stderr, both at INFO."""
    app_log = logging.getLogger("app")
    app_log.handlers[:] = error_log.handlers
    for handler in error_log.handlers:
        handler.addFilter(RequestIdFilter())
    app_log.setLevel(logging.INFO)
    app_log.propagate = False

    access_handler = logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(logging.Formatter("%(message)s"))
    access_log = logging.getLogger("app.access")
    access_log.handlers[:] = [access_handler]
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
