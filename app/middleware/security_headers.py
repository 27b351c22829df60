"""Security headers on every response: pages, static files, JSON, errors and /metrics.

The page loads only its own module script and stylesheet (no inline script or style), so
the policy can forbid everything else; the prediction preview is a data: URL image.
"""
from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {  # no view sets any of these itself
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers without CSP level 2
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

SECURITY_HEADER_ITEMS = tuple(SECURITY_HEADERS.items())

# Answers that describe one moment (a prediction, the model now serving, counters) are never cached.
NO_STORE_TYPES = frozenset({"application/json", "text/plain"})


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.extend(SECURITY_HEADER_ITEMS)  # appends: half the cost of five setdefault() scans
    if response.mimetype in NO_STORE_TYPES and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
