"""Every error is JSON {"error": {"code", "message", "request_id"}} with the right status, never an
HTML page and never a stack trace (that goes to the server's log, under the same request id)."""
from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, jsonify, request
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge

from app.middleware.body_guard import MalformedBody
from app.middleware.request_id import request_id

# Stable machine-readable codes for the HTTP errors Werkzeug raises by itself.
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
    500: "internal_error",
}


class ApiError(Exception):
    """An error the client caused, with its status and a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> Response:
    g.error_code = code  # for the metrics of rejected inputs
    response = jsonify({"error": {"code": code, "message": message, "request_id": request_id()}})
    response.status_code = status
    return response


def handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message)


def handle_http_exception(exc: HTTPException) -> Response:
    message = exc.description or exc.name
    if isinstance(exc, RequestEntityTooLarge):
        drain_unread_body()
        message = f"the request is too large (the body limit is {current_app.config.get('MAX_CONTENT_LENGTH')} bytes)"
    status = exc.code or 500
    code = HTTP_ERROR_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    response = error_response(status, code, message)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":  # keep e.g. Allow on a 405
            response.headers[name] = value
    return response


def drain_unread_body(max_factor: int = 4, seconds: float = 2.0) -> None:
    """Read and drop an oversized body (up to 4x the limit, for 2 s) so the client sees the 413.

    Werkzeug refuses the body before reading it; gunicorn then drains at most 64 KB and
    closes, so a client still sending (Python's http.client, requests, ...) gets a broken
    pipe instead of our JSON answer. Bodies far over the limit are not worth reading.
    """
    stream = request.environ.get("wsgi.input")
    length = request.content_length
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if stream is None or length is None or length > max_factor * limit:
        return
    deadline = time.monotonic() + seconds
    while length > 0 and time.monotonic() < deadline:
        chunk = stream.read(min(1 << 16, length))
        if not chunk:
            break
        length -= len(chunk)


def handle_incomplete_body(exc: Exception) -> Response:
    """The body stopped short: a read deadline ran out (app/deploy/gunicorn_worker.py) or the client left.

    Werkzeug turns a failed read into ClientDisconnected (the socket error as its context);
    a chunked body is read without Werkzeug's wrapper, so its timeout arrives as it is.
    """
    cause = exc if isinstance(exc, (TimeoutError, MalformedBody)) else exc.__context__
    if isinstance(cause, MalformedBody):  # a broken chunked framing (app/middleware/body_guard.py)
        return error_response(400, "malformed_body", str(cause))
    if isinstance(cause, TimeoutError):
        return error_response(408, "request_timeout", "the request body did not arrive in time")
    return error_response(400, "incomplete_body", "the request body ended before its announced length")


def handle_unexpected(exc: Exception) -> Response:
    current_app.logger.exception("unhandled error in %s %s, request_id %s", request.method, request.path[:256],
                                 request_id())
    return error_response(500, "internal_error", "internal error; it has been logged")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ClientDisconnected, handle_incomplete_body)
    app.register_error_handler(TimeoutError, handle_incomplete_body)
    app.register_error_handler(MalformedBody, handle_incomplete_body)  # read outside Werkzeug's wrapper
    app.register_error_handler(Exception, handle_unexpected)
