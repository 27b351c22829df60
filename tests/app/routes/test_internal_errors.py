"""Our own bugs are 500 internal_error (JSON, logged with a traceback), never a silent 4xx, so the
"never a 5xx" hostile-input suites (tests/hardening) fail when a real crash hides behind an input."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from testkit.drawings import canvas_png, data_url

PNG = canvas_png("seven")


def broken_network(app) -> None:
    """A real fault in the model: the first layer's weights lose rows, so the product cannot run."""
    holder = app.extensions["model_holder"]
    network = holder.current.network
    network.dense[0].W = np.ascontiguousarray(network.dense[0].W[:100])


def assert_internal_error(response) -> None:
    assert response.status_code == 500, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == "internal_error" and error["request_id"] and "Traceback" not in error["message"]


def test_a_model_that_raises_is_a_500_for_predict_and_batch(app, client, caplog) -> None:
    broken_network(app)
    with caplog.at_level(logging.ERROR):
        assert_internal_error(client.post("/predict", data=PNG, content_type="image/png"))
        assert_internal_error(client.post("/predict/batch", json={"images": [data_url(PNG)] * 2}))
    assert caplog.text.count("Traceback") == 2 and "internal error" not in caplog.text


def test_a_preprocessing_bug_is_a_500_not_a_400(app, client, monkeypatch, caplog) -> None:
    """Before, any exception in decode/preprocess became 400 undecodable_image."""
    import app.routes.predict as predict

    def preprocess_with_a_bug(image):
        return 1 / 0

    monkeypatch.setattr(predict, "preprocess", preprocess_with_a_bug)
    with caplog.at_level(logging.ERROR):
        assert_internal_error(client.post("/predict", data=PNG, content_type="image/png"))
        assert_internal_error(client.post("/predict/batch", json={"images": [data_url(PNG)]}))
    assert "ZeroDivisionError" in caplog.text


@pytest.mark.parametrize("body", [b"not an image", PNG[:60]])
def test_the_inputs_own_faults_stay_4xx(client, body: bytes) -> None:
    response = client.post("/predict", data=body, content_type="image/png")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "undecodable_image"
