"""Every error is JSON {"error": {"code", "message"}} with the right status, never an HTML page."""
from __future__ import annotations

from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException

# Stable machine-readable codes for the HTTP errors Werkzeug raises by itself.
HTTP_ERROR_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
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
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message)


def handle_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = HTTP_ERROR_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_").replace("'", "")
    response = error_response(status, code, exc.description or exc.name)
    for name, value in exc.get_headers():
        if name.lower() != "content-type":  # keep e.g. Allow on a 405
            response.headers[name] = value
    return response


def handle_unexpected(exc: Exception) -> Response:
    current_app.logger.exception("unhandled error")
    return error_response(500, "internal_error", "internal error; it has been logged")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
