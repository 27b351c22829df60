"""POST /explain: real answers (in-process and through gunicorn) against the OpenAPI document,
the three request forms, the target option, and what the maps and layers hold."""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from model.nn.explain import MAX_STEPS
from app import create_app
from model.artifacts import weights_file
from model.nn.network import MLP
from tests.conftest import UNLIMITED
from testkit.drawings import canvas_png, data_url
from tests.support.openapi_check import assert_matches_openapi
from testkit.live_server import WEIGHTS

SEVEN = canvas_png("seven")


def png_of(url: str) -> Image.Image:
    assert url.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


def test_explanation_through_gunicorn_matches_openapi_and_predict(live_server) -> None:
    explained = live_server.request("POST", "/explain", SEVEN, {"Content-Type": "image/png"})
    predicted = live_server.request("POST", "/predict", SEVEN, {"Content-Type": "image/png"})
    assert explained.status == 200, explained.body[:300]
    body, prediction = json.loads(explained.body), json.loads(predicted.body)
    assert_matches_openapi("/explain", "post", 200, body)
    assert body["digit"] == prediction["digit"] == body["target"] == 7
    np.testing.assert_allclose(body["probabilities"], prediction["probabilities"], atol=1e-6)
    assert body["preview"] == prediction["preview"]
    logits = np.array(body["logits"]) / body["temperature"]
    digits = np.exp(logits - logits.max())[:10]
    np.testing.assert_allclose(digits / digits.sum(), body["probabilities"], atol=1e-6)
    assert body["verdict"] == prediction["verdict"]
    error = live_server.request("POST", "/explain?target=10", SEVEN, {"Content-Type": "image/png"})
    assert error.status == 400 and json.loads(error.body)["error"]["code"] == "invalid_target"
    assert_matches_openapi("/explain", "post", 400, json.loads(error.body))


@pytest.mark.parametrize("form", ["raw", "json", "multipart", "form_field"])
def test_every_request_form_takes_a_target(client, form: str) -> None:
    if form == "raw":
        response = client.post("/explain?target=1", data=SEVEN, content_type="image/png")
    elif form == "json":
        response = client.post("/explain", json={"image": data_url(SEVEN), "target": 1})
    elif form == "multipart":
        response = client.post("/explain", data={"image": (io.BytesIO(SEVEN), "seven.png"), "target": "1"},
                               content_type="multipart/form-data")
    else:
        response = client.post("/explain", data={"image": data_url(SEVEN), "target": "1"},
                               content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_matches_openapi("/explain", "post", 200, body)
    assert body["target"] == 1 and body["digit"] == 7


@pytest.mark.parametrize("value", [-1, 10, 1.5, True, "7a", "", [7], None, "99999"])
def test_a_bad_target_is_a_400(client, value) -> None:
    payload = {"image": data_url(SEVEN), "target": value}
    response = client.post("/explain", json=payload)
    if value is None:  # null means "not given": the predicted digit
        assert response.status_code == 200 and response.get_json()["target"] == 7
        return
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_target"
    assert_matches_openapi("/explain", "post", 400, response.get_json())


def test_steps_option(client) -> None:
    none = client.post("/explain?steps=0", data=SEVEN, content_type="image/png").get_json()
    assert "integrated_gradients" not in none["saliency"]
    many = client.post("/explain", json={"image": data_url(SEVEN), "steps": MAX_STEPS}).get_json()
    assert many["saliency"]["integrated_gradients"]["steps"] == MAX_STEPS
    assert client.post(f"/explain?steps={MAX_STEPS + 1}", data=SEVEN, content_type="image/png").status_code == 400


def test_maps_layers_and_templates_are_the_networks_own(client) -> None:
    body = client.post("/explain?target=3", data=SEVEN, content_type="image/png").get_json()
    model = weights_file.load(WEIGHTS)
    x = np.asarray(png_of(body["preview"]), dtype=np.float32).reshape(-1) / 255
    assert body["target"] == 3
    sal = body["saliency"]
    gradient = np.array(sal["gradient"]["values"])
    gxi = np.array(sal["gradient_x_input"]["values"])
    np.testing.assert_allclose(gxi, gradient * x.reshape(28, 28), atol=2e-6)
    ig = sal["integrated_gradients"]
    gap = ig["sum"] - (body["logits"][3] - body["baseline_logit"])
    assert ig["completeness_gap"] == pytest.approx(gap, abs=1e-3)
    for name in ("gradient", "gradient_x_input", "integrated_gradients"):
        heat = png_of(sal[name]["png"])
        assert heat.size == (28, 28) and heat.mode == "RGBA"
        rgba = np.asarray(heat)
        values = np.array(sal[name]["values"])
        strongest = np.unravel_index(np.abs(values).argmax(), values.shape)
        assert rgba[strongest][3] == 255
        red, seen = rgba[..., 0] > rgba[..., 2], rgba[..., 3] > 0
        assert seen.sum() > 50
        assert red[seen & (values > 0)].all() and not red[seen & (values < 0)].any()
    hidden1, hidden2, output = body["layers"]
    assert [hidden1["size"], hidden2["size"], output["size"]] == [800, 800, model.spec["num_classes"]]  # 11: "not a digit"
    np.testing.assert_allclose(output["values"], body["logits"], atol=1e-4)
    assert hidden1["template_kind"] == "weights" and hidden2["template_kind"] == "input_gradient"
    for unit in hidden1["contributing_units"]:
        template = np.asarray(png_of(unit["template"]).convert("RGB"), dtype=np.int32)
        weights = model.dense[0].W[:, unit["unit"]].reshape(28, 28)
        red_more = template[..., 0] > template[..., 2]
        assert (red_more == (weights > 1e-3 * np.abs(weights).max()))[np.abs(weights) > 0.05 * np.abs(weights).max()].all()
        assert unit["value"] == pytest.approx(hidden1["values"][unit["unit"]], abs=1e-4)
    contributions = [abs(u["contribution"]) for u in hidden1["contributing_units"]]
    assert contributions == sorted(contributions, reverse=True)


def test_explaining_does_not_count_as_a_prediction(client) -> None:
    def sevens() -> list[str]:
        text = client.get("/metrics").get_data(as_text=True)
        return [ln for ln in text.splitlines() if ln.startswith('digit_canvas_predictions_total{digit="7"}')]

    client.post("/predict", data=SEVEN, content_type="image/png")
    before = sevens()
    client.post("/explain", data=SEVEN, content_type="image/png")
    assert before and sevens() == before


def test_a_model_with_a_not_a_digit_output_and_a_temperature(tmp_path) -> None:
    """11 outputs (the 11th "not a digit", made the largest here) and a calibration temperature:
    the default target is still the answer's digit, logits has 11 entries, probabilities are
    the digits' share of softmax(logits / T)."""
    net = MLP(hidden_sizes=(16,), num_classes=11, seed=2)
    net.dense[-1].b[10] = 50.0
    net.metadata = {"version": "eleven", "calibration": {"temperature": 2.0}}
    path = tmp_path / "eleven.npz"
    weights_file.save(net, path)
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(path), "INSTANCE_PATH": str(tmp_path / "i"), **UNLIMITED})
    body = app.test_client().post("/explain", data=SEVEN, content_type="image/png").get_json()
    assert_matches_openapi("/explain", "post", 200, body)
    assert len(body["logits"]) == 11 and body["temperature"] == 2.0
    assert int(np.argmax(body["logits"])) == 10 and body["target"] == body["digit"] != 10
    z = np.array(body["logits"]) / 2.0
    digits = np.exp(z - z.max())[:10]
    np.testing.assert_allclose(digits / digits.sum(), body["probabilities"], rtol=1e-4, atol=1e-9)
    assert len(body["layers"][-1]["values"]) == 11


def test_explain_has_the_rate_limit_of_predict(tmp_path) -> None:
    """PREDICT_LIMIT per client, the budget /predict draws on too; loopback exempt like /predict unless told otherwise."""
    def client(**config):
        return create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "i"),
                           "PREDICT_LIMIT": "6/minute", **config}).test_client()  # an /explain counts 3

    strict = client(PREDICT_LIMIT_EXEMPT=())
    statuses = [strict.post("/explain?steps=0", data=SEVEN, content_type="image/png").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = strict.post("/explain", data=SEVEN, content_type="image/png")
    assert limited.get_json()["error"]["code"] == "too_many_requests" and limited.headers["Retry-After"]
    assert_matches_openapi("/explain", "post", 429, limited.get_json())
    assert strict.post("/predict", data=SEVEN, content_type="image/png").status_code == 429  # one shared budget
    loopback = client()
    assert [loopback.post("/explain?steps=0", data=SEVEN, content_type="image/png").status_code
            for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize("hidden,activation", [((8,), "tanh"), ((32, 16, 12), "leaky_relu"), ((20, 20), "sigmoid")])
def test_any_servable_architecture_is_explained(tmp_path, hidden, activation) -> None:
    """Other depths and activations than the shipped model's: one strip per hidden layer, the
    first with weight templates, deeper ones with input gradients, logits = the output layer."""
    net = MLP(hidden_sizes=hidden, activation=activation, seed=4)
    path = tmp_path / "other.npz"
    weights_file.save(net, path)
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(path), "INSTANCE_PATH": str(tmp_path / "i"), **UNLIMITED})
    body = app.test_client().post("/explain?target=5", data=SEVEN, content_type="image/png").get_json()
    assert_matches_openapi("/explain", "post", 200, body)
    assert [layer["size"] for layer in body["layers"]] == [*hidden, 10]
    assert [layer.get("template_kind") for layer in body["layers"]] == (
        ["weights"] + ["input_gradient"] * (len(hidden) - 1) + [None])
    assert all(layer["activation"] == activation for layer in body["layers"][:-1])
    np.testing.assert_allclose(body["layers"][-1]["values"], body["logits"], atol=1e-4)
