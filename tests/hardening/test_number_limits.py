"""/predict/number against the /predict rate limit: a number counts one /predict per digit read."""
from __future__ import annotations

import numpy as np

from bench.drawn_numbers import draw_number
from testkit.drawings import encode
from tests.support.openapi_check import assert_matches_openapi
from tests.hardening.test_rate_limits import make_app, predict

THREE_DIGITS = encode(draw_number("470", np.random.default_rng(1), gap=(0.2, 0.3),
                                  styles=["4 closed", "7", "0"]).image, "PNG")


def number(client, address: str = "203.0.113.5"):
    return client.post("/predict/number", data=THREE_DIGITS, content_type="image/png",
                       environ_base={"REMOTE_ADDR": address})


def test_a_number_costs_one_predict_per_digit(tmp_path) -> None:
    """Counted like /predict/batch: against the client's one /predict budget."""
    client = make_app(tmp_path, PREDICT_LIMIT="6/minute").test_client()
    first = number(client)
    assert first.status_code == 200 and first.json["number"] == "470"  # 3 of 6 used
    assert number(client).status_code == 200  # 6 of 6: the digits were counted, not the requests
    refused = number(client)
    assert refused.status_code == 429 and refused.json["error"]["code"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) >= 1
    assert_matches_openapi("/predict/number", "post", 429, refused.json)
    assert number(client, "203.0.113.6").status_code == 200  # another client is not affected


def test_the_number_that_crosses_the_limit_is_answered_the_next_is_not(tmp_path) -> None:
    """The digits are known only once the number is read: one unit left lets a number through."""
    client = make_app(tmp_path, PREDICT_LIMIT="4/minute").test_client()
    assert [number(client).status_code for _ in range(3)] == [200, 200, 429]


def test_a_refused_drawing_counts_one(tmp_path) -> None:
    client = make_app(tmp_path, PREDICT_LIMIT="3/minute").test_client()
    env = {"REMOTE_ADDR": "203.0.113.5"}
    statuses = [client.post("/predict/number", data=b"junk", content_type="image/png", environ_base=env).status_code
                for _ in range(4)]
    assert statuses == [400, 400, 400, 429]


def test_numbers_from_the_servers_own_machine_are_not_limited(tmp_path) -> None:
    client = make_app(tmp_path, PREDICT_LIMIT="2/minute").test_client()
    assert [number(client, "127.0.0.1").status_code for _ in range(4)] == [200] * 4
