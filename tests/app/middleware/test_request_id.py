"""Request ids: echoed or generated, in every response and error body; a 500 is logged with its
traceback under that id and answered without one."""
from __future__ import annotations

import json
import logging
import re

import pytest

from app import create_app
from tests.support.openapi_check import assert_matches_openapi
from testkit.live_server import WEIGHTS

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("offered", ["abc", "req-1.2_3", "A" * 64])
def test_a_safe_client_id_is_echoed(client, offered) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    assert response.headers["X-Request-ID"] == offered


@pytest.mark.parametrize("offered", ["", "A" * 65, "has space", "semi;colon", "new\\nline", "<script>", "é"])
def test_an_unsafe_client_id_is_replaced(client, offered) -> None:
    response = client.post("/predict", data=b"junk", content_type="image/png", headers={"X-Request-ID": offered})
    rid = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(rid) and response.json["error"]["request_id"] == rid


def test_each_request_gets_its_own_id_and_errors_repeat_it(client) -> None:
    ids = set()
    for path in ("/healthz", "/missing", "/predict"):
        response = client.get(path)
        rid = response.headers["X-Request-ID"]
        assert GENERATED.fullmatch(rid)
        ids.add(rid)
        if response.status_code >= 400:
            assert response.json["error"]["request_id"] == rid
    assert len(ids) == 3
    bad = client.post("/predict", data=b"junk", content_type="image/png")
    assert_matches_openapi("/predict", "post", 400, bad.json)


@pytest.fixture
def failing_app(tmp_path):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance")})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    return app


def test_an_unhandled_error_is_logged_with_traceback_and_answered_without(failing_app, caplog) -> None:
    with caplog.at_level(logging.INFO):
        response = failing_app.test_client().get("/boom", headers={"X-Request-ID": "trace-me-1"})
    assert response.status_code == 500 and response.is_json
    assert response.json == {"error": {"code": "internal_error", "message": "internal error; it has been logged",
                                       "request_id": "trace-me-1"}}
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "secret internal detail" not in body and "boom" not in body
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "trace-me-1" in record.getMessage() and "/boom" in record.getMessage()
    assert record.exc_info and "secret internal detail" in caplog.text and "Traceback" in caplog.text
    access = [json.loads(r.getMessage()) for r in caplog.records if r.name == "app.access"]
    assert access and access[-1]["status"] == 500 and access[-1]["request_id"] == "trace-me-1"


def test_ids_over_gunicorn(live_server) -> None:
    echoed = live_server.request("GET", "/missing", headers={"X-Request-ID": "from-proxy-7"})
    assert echoed.headers["x-request-id"] == "from-proxy-7"
    assert json.loads(echoed.body)["error"]["request_id"] == "from-proxy-7"
    replaced = live_server.request("GET", "/healthz", headers={"X-Request-ID": "x" * 100})
    assert GENERATED.fullmatch(replaced.headers["x-request-id"])
