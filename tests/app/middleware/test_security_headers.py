"""Security headers on every kind of response, and a page that needs no inline script or style."""
from __future__ import annotations

import re

import pytest

from app.middleware.security_headers import CONTENT_SECURITY_POLICY
from testkit.drawings import canvas_png

PNG = canvas_png("one", "alpha_only")
EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
REQUESTS = [  # (method, path, body, content type, status)
    ("GET", "/", None, None, 200),
    ("GET", "/static/js/main.js", None, None, 200),
    ("GET", "/static/style.css", None, None, 200),
    ("GET", "/static/favicon.svg", None, None, 200),
    ("GET", "/healthz", None, None, 200),
    ("GET", "/openapi.json", None, None, 200),
    ("GET", "/metrics", None, None, 200),
    ("POST", "/predict", PNG, "image/png", 200),
    ("POST", "/predict", b"junk", "image/png", 400),
    ("GET", "/no/such/page", None, None, 404),
    ("GET", "/predict", None, None, 405),
    ("POST", "/predict", b"\0" * (6 * 1024 * 1024), "image/png", 413),
    ("POST", "/feedback", b"{}", "text/plain", 415),
]


@pytest.mark.parametrize("method,path,body,content_type,status", REQUESTS,
                         ids=[f"{m} {p} {s}" for m, p, _, _, s in REQUESTS])
def test_every_response_carries_the_security_headers(client, method, path, body, content_type, status) -> None:
    response = client.open(path, method=method, data=body, content_type=content_type)
    assert response.status_code == status
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, name
    if response.mimetype in ("application/json", "text/plain"):
        assert response.headers["Cache-Control"] == "no-store"
    assert "Traceback" not in response.get_data(as_text=True)


def test_policy_forbids_inline_code_frames_and_foreign_origins() -> None:
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == directives["style-src"] == "'self'"  # no 'unsafe-inline', no CDN
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY and "*" not in CONTENT_SECURITY_POLICY


def test_page_has_no_inline_script_or_style(client) -> None:
    """What the policy would block: the browser test (tests/browser/test_csp.py) checks it live."""
    html = client.get("/").get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
    assert scripts and all(body.strip() == "" for body in scripts)
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_headers_over_gunicorn(live_server) -> None:
    for path in ("/", "/static/js/main.js", "/missing"):
        response = live_server.request("GET", path)
        for name, value in EXPECTED.items():
            assert response.headers.get(name.lower()) == value, (path, name)
