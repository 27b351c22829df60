"""Per-client rate limits (app/middleware/rate_limits.py): a burst gets JSON 429s with Retry-After, others go on."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from app import create_app
from app.settings import DEFAULT_FEEDBACK_LIMIT, DEFAULT_PREDICT_LIMIT, settings_from_env
from app.middleware.rate_limits import client_key
from testkit.drawings import canvas_png, data_url
from tests.support.openapi_check import assert_matches_openapi
from tests.support.raw_http import HANG
from testkit.live_server import WEIGHTS, LiveServer

PNG = canvas_png("one")


def make_app(tmp_path, **config) -> Flask:
    return create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance"),
                       **config})


def predict(client, address: str = "203.0.113.5", **environ):
    return client.post("/predict", data=PNG, content_type="image/png",
                       environ_base={"REMOTE_ADDR": address, **environ})


def test_a_burst_from_one_client_gets_429_with_retry_after(tmp_path) -> None:
    client = make_app(tmp_path, PREDICT_LIMIT="5/second;50/minute").test_client()
    statuses = [predict(client).status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    response = predict(client)
    assert response.status_code == 429 and response.is_json
    assert response.json["error"]["code"] == "too_many_requests"
    assert "5 per 1 second" in response.json["error"]["message"]
    retry_after = int(response.headers["Retry-After"])
    assert retry_after == 1  # whole seconds, at most the one-second window
    assert_matches_openapi("/predict", "post", 429, response.json)
    assert predict(client, "203.0.113.6").status_code == 200  # another client is not affected
    time.sleep(retry_after)  # as told: then the client may send again
    assert predict(client).status_code == 200


def test_unlimited_routes_still_answer_a_limited_client(tmp_path) -> None:
    client = make_app(tmp_path, PREDICT_LIMIT="2/minute").test_client()
    assert [predict(client).status_code for _ in range(3)] == [200, 200, 429]
    for path in ["/healthz", "/api/model", "/openapi.json", "/", "/static/app.js"] * 10:
        response = client.get(path, environ_base={"REMOTE_ADDR": "203.0.113.5"})
        assert response.status_code in (200, 404) and response.status_code != 429, path
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200


def test_feedback_limit_is_separate_from_predict(tmp_path) -> None:
    client = make_app(tmp_path, PREDICT_LIMIT="100/minute", FEEDBACK_LIMIT="2/minute").test_client()
    body = {"image": data_url(PNG), "label": 1, "predicted": 1, "confidence": 0.9, "model": "m"}
    env = {"REMOTE_ADDR": "203.0.113.9"}
    assert [client.post("/feedback", json=body, environ_base=env).status_code for _ in range(3)] == [201, 201, 429]
    refused = client.post("/feedback", json=body, environ_base=env)
    assert refused.json["error"]["code"] == "too_many_requests" and int(refused.headers["Retry-After"]) >= 1
    assert_matches_openapi("/feedback", "post", 429, refused.json)
    assert predict(client, "203.0.113.9").status_code == 200


def test_forwarded_for_is_ignored_unless_the_operator_trusts_a_proxy(tmp_path) -> None:
    direct = make_app(tmp_path, PREDICT_LIMIT="2/minute").test_client()
    spoofed = [predict(direct, "198.51.100.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code for i in range(3)]
    assert spoofed == [200, 200, 429]  # a fresh made-up address per request does not escape the limit

    proxied = make_app(tmp_path, PREDICT_LIMIT="2/minute", TRUSTED_PROXIES=1).test_client()
    for client_address in ("192.0.2.10", "192.0.2.11"):  # two users behind one proxy: separate limits
        statuses = [predict(proxied, "10.1.1.1", HTTP_X_FORWARDED_FOR=f"6.6.6.6, {client_address}").status_code
                    for _ in range(3)]
        assert statuses == [200, 200, 429]


@pytest.mark.parametrize("address,key", [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:bbbb::99", "2001:db8:1:2::/64"),  # the same /64: one client
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("not-an-address", "not-an-address"),
])
def test_client_key(address: str, key: str) -> None:
    app = Flask(__name__)
    with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
        assert client_key() == key


def test_limits_and_storage_come_from_the_environment() -> None:
    settings = settings_from_env({"DIGIT_CANVAS_PREDICT_LIMIT": "7/second", "DIGIT_CANVAS_FEEDBACK_LIMIT": "1/hour",
                                  "DIGIT_CANVAS_RATELIMIT_STORAGE": "redis://cache:6379",
                                  "DIGIT_CANVAS_TRUSTED_PROXIES": "2"})
    assert (settings["PREDICT_LIMIT"], settings["FEEDBACK_LIMIT"]) == ("7/second", "1/hour")
    assert (settings["RATELIMIT_STORAGE_URI"], settings["TRUSTED_PROXIES"]) == ("redis://cache:6379", 2)
    defaults = settings_from_env({})
    assert (defaults["PREDICT_LIMIT"], defaults["FEEDBACK_LIMIT"]) == (DEFAULT_PREDICT_LIMIT, DEFAULT_FEEDBACK_LIMIT)
    assert (defaults["RATELIMIT_STORAGE_URI"], defaults["TRUSTED_PROXIES"]) == ("memory://", 0)


def test_a_dead_shared_storage_falls_back_to_memory(tmp_path) -> None:
    """Redis configured but unreachable: requests are answered and still limited, per worker."""
    client = make_app(tmp_path, PREDICT_LIMIT="3/minute", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1").test_client()
    assert [predict(client).status_code for _ in range(5)] == [200, 200, 200, 429, 429]
    assert 1 <= int(predict(client).headers["Retry-After"]) <= 60


def test_an_unknown_storage_is_refused_at_startup(tmp_path) -> None:
    with pytest.raises(Exception, match="bogus"):
        make_app(tmp_path, RATELIMIT_STORAGE_URI="bogus://somewhere")


def test_predict_from_the_servers_own_machine_is_not_limited_but_feedback_is(tmp_path) -> None:
    client = make_app(tmp_path, PREDICT_LIMIT="2/minute", FEEDBACK_LIMIT="2/minute").test_client()
    for address in ("127.0.0.1", "::1", "127.0.0.9"):
        assert [predict(client, address).status_code for _ in range(5)] == [200] * 5
    assert [predict(client, "203.0.113.5").status_code for _ in range(3)] == [200, 200, 429]
    body = {"image": data_url(PNG), "label": 1, "predicted": 1, "confidence": 0.9, "model": "m"}
    statuses = [client.post("/feedback", json=body, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code
                for _ in range(3)]
    assert statuses == [201, 201, 429]
    strict = make_app(tmp_path, PREDICT_LIMIT="2/minute", PREDICT_LIMIT_EXEMPT=()).test_client()
    assert [predict(strict, "127.0.0.1").status_code for _ in range(3)] == [200, 200, 429]


def test_exempt_networks_come_from_the_environment() -> None:
    assert [str(n) for n in settings_from_env({})["PREDICT_LIMIT_EXEMPT"]] == ["127.0.0.0/8", "::1/128"]
    custom = settings_from_env({"DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT": "10.0.0.0/8, 192.168.1.7"})
    assert [str(n) for n in custom["PREDICT_LIMIT_EXEMPT"]] == ["10.0.0.0/8", "192.168.1.7/32"]
    assert settings_from_env({"DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT": "none"})["PREDICT_LIMIT_EXEMPT"] == ()
    with pytest.raises(ValueError, match="DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT"):
        settings_from_env({"DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT": "not-a-network"})


# --- the real server at its default limits ---------------------------------------------------

@pytest.fixture(scope="module")
def default_server(tmp_path_factory):
    # The test client is local: take loopback out of /predict's exemption to see the limits it meets.
    env = {"DIGIT_CANVAS_PREDICT_LIMIT_EXEMPT": "none"}
    with LiveServer(tmp_path_factory.mktemp("limits") / "gunicorn.log", workers=2, env=env) as server:
        yield server


def test_defaults_let_a_person_through(default_server) -> None:
    """About what the browser suite sends: 40 predicts at a drawing pace, plus feedback."""
    for _ in range(40):
        response = default_server.request("POST", "/predict", PNG, {"Content-Type": "image/png"}, timeout=HANG)
        assert response.status == 200, response.body
        time.sleep(1 / 15)
    body = json.dumps({"image": data_url(PNG), "label": 1, "predicted": 1, "confidence": 0.9, "model": "m"}).encode()
    for _ in range(5):
        assert default_server.request("POST", "/feedback", body, {"Content-Type": "application/json"}).status == 201


def test_defaults_stop_a_flood_and_keep_serving_health(default_server) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def flood(thread: int) -> None:
        conn = default_server.connect(timeout=HANG)
        try:
            for i in range(100):  # a made-up X-Forwarded-For each time: gunicorn and the app ignore it
                headers = {"Content-Type": "image/png", "X-Forwarded-For": f"10.{thread}.{i}.1"}
                response = default_server.request("POST", "/predict", PNG, headers, conn=conn)
                with lock:
                    statuses.append(response.status)
                if response.status == 429:
                    assert json.loads(response.body)["error"]["code"] == "too_many_requests"
                    assert int(response.headers["retry-after"]) >= 1
        finally:
            conn.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(flood, range(4)))
        assert default_server.request("GET", "/healthz", timeout=HANG).status == 200
    assert set(statuses) == {200, 429}
    assert statuses.count(429) >= 100  # 400 requests as fast as 4 connections go: many refused
    assert default_server.request("GET", "/healthz", timeout=HANG).status == 200


def test_the_prediction_routes_share_one_budget(tmp_path) -> None:
    """/predict, /predict/batch, /predict/number and /explain all count against one PREDICT_LIMIT per client
    (an explanation 3 units: it costs the server about 2.6 predictions)."""
    client = make_app(tmp_path, PREDICT_LIMIT="6/minute").test_client()
    env = {"REMOTE_ADDR": "203.0.113.5"}
    assert predict(client).status_code == 200  # 1 of 6
    batch = client.post("/predict/batch", json={"images": [data_url(PNG)] * 4}, environ_base=env)
    assert batch.status_code == 200  # 4 images: one unit, 2 of 6
    assert client.post("/explain", data=PNG, content_type="image/png", environ_base=env).status_code == 200  # 5 of 6
    assert client.post("/predict/number", data=PNG, content_type="image/png", environ_base=env).status_code == 200  # 6
    for path in ("/predict", "/explain", "/predict/number"):
        refused = client.post(path, data=PNG, content_type="image/png", environ_base=env)
        assert refused.status_code == 429, path
    assert client.post("/predict/batch", json={"images": [data_url(PNG)]}, environ_base=env).status_code == 429
    assert predict(client, "203.0.113.6").status_code == 200  # another client has its own budget


def test_an_explanation_counts_three_predictions(tmp_path) -> None:
    """Of a budget of 5, an /explain leaves 2 /predict; with 2 left, an /explain is refused. A refused
    request still counts in its window (fixed windows: every refused request does), so after it the
    client waits for the next window."""
    client = make_app(tmp_path, PREDICT_LIMIT="5/minute").test_client()
    env = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.post("/explain", data=PNG, content_type="image/png", environ_base=env).status_code == 200  # 3 of 5
    assert [predict(client, env["REMOTE_ADDR"]).status_code for _ in range(3)] == [200, 200, 429]
    other = {"REMOTE_ADDR": "203.0.113.8"}
    assert [predict(client, other["REMOTE_ADDR"]).status_code for _ in range(3)] == [200, 200, 200]  # 3 of 5
    assert client.post("/explain", data=PNG, content_type="image/png", environ_base=other).status_code == 429  # 6 > 5
