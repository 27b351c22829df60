"""One structured (JSON) access line per request, in the app's log and in gunicorn's."""
from __future__ import annotations

import json
import logging

from testkit.drawings import canvas_png

PNG = canvas_png("one", "alpha_only")
FIELDS = {"method", "path", "status", "latency_ms", "request_id", "model", "bytes", "remote_addr"}


def access_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "app.access"]


def test_one_json_line_per_request_with_every_field(client, app, caplog) -> None:
    version = app.extensions["model_holder"].current.version
    with caplog.at_level(logging.INFO, logger="app.access"):
        ok = client.post("/predict", data=PNG, content_type="image/png", headers={"X-Request-ID": "log-1"})
        missing = client.get("/nothing/here?token=secret")
    first, second = access_lines(caplog)
    assert set(first) == FIELDS
    assert first["method"] == "POST" and first["path"] == "/predict" and first["status"] == 200
    assert first["request_id"] == "log-1" and first["model"] == version
    assert first["bytes"] == len(ok.data) and first["remote_addr"] == "127.0.0.1"
    assert 0 < first["latency_ms"] < 60_000
    assert second["status"] == 404 and second["path"] == "/nothing/here"  # no query string in logs
    assert second["request_id"] == missing.headers["X-Request-ID"]


def test_a_long_made_up_path_is_truncated(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="app.access"):
        client.get("/" + "a" * 5000)
    [line] = access_lines(caplog)
    assert line["status"] == 404 and len(line["path"]) == 256


def test_gunicorn_log_has_one_json_line_per_request(live_server) -> None:
    rid = "access-log-check-1"
    response = live_server.request("POST", "/predict", PNG, {"Content-Type": "image/png", "X-Request-ID": rid})
    assert response.status == 200
    log = live_server.log_text()
    [line] = [json.loads(text) for text in log.splitlines() if rid in text]  # one line, not two
    assert set(line) == FIELDS
    assert (line["method"], line["path"], line["status"]) == ("POST", "/predict", 200)
    assert line["model"] == json.loads(response.body)["model"] and line["bytes"] == len(response.body)
    assert line["latency_ms"] > 0 and line["remote_addr"] == "127.0.0.1"
    assert '"POST /predict HTTP/1.1"' not in log  # gunicorn's own access log is off
    # Every access line is plain JSON: the whole line parses.
    json_lines = [text for text in log.splitlines() if text.startswith("{")]
    assert json_lines and all(set(json.loads(text)) == FIELDS for text in json_lines)
