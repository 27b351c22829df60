"""One id per request, echoed in X-Request-ID and in every error body, so a user's report can
be matched with the server's log line.

A client's (or proxy's) X-Request-ID is kept only if it is short and safe to write into logs
and headers; anything else is replaced by a fresh random id.
"""
from __future__ import annotations

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id() -> str:
    """This request's id, chosen on first use (so even an error raised before any hook has one)."""
    rid = g.get("request_id")
    if rid is None:
        rid = g.request_id = accepted_or_new(request.headers.get(HEADER))
    return rid


def accepted_or_new(offered: str | None) -> str:
    if offered is not None and SAFE_ID.fullmatch(offered):
        return offered
    return uuid.uuid4().hex


def add_request_id_header(response: Response) -> Response:
    response.headers[HEADER] = request_id()
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_request_id_header)
