"""The verdict on /predict and /predict/batch: digit, unsure (with candidates) or not_a_digit.

Drawings made here (strokes on a 280x280 pad, like the page's): clear digits read as
"digit"; a dot, a dash and a line across the pad read as "not_a_digit" whatever the
encoding; existing keys stay.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from testkit.drawings import canvas_png, data_url, encode
from tests.support.openapi_check import assert_matches_openapi


def pad(draw_on) -> bytes:
    """A white 280x280 pad with black strokes drawn by ``draw_on(ImageDraw)``, as PNG."""
    image = Image.new("RGB", (280, 280), "white")
    draw_on(ImageDraw.Draw(image))
    return encode(image, "PNG")


NOT_DIGITS = {
    "dot": pad(lambda d: d.ellipse((130, 130, 151, 151), fill="black")),
    "dash": pad(lambda d: d.line((110, 140, 170, 142), fill="black", width=21)),
    "line across the pad": pad(lambda d: d.line((10, 150, 270, 130), fill="black", width=12)),
}


def answer(client, **kwargs) -> dict:
    response = client.post("/predict", **kwargs)
    assert response.status_code == 200, response.json
    assert_matches_openapi("/predict", "post", 200, response.json)
    return response.json


@pytest.mark.parametrize("shape, digit", [("zero", 0), ("one", 1), ("seven", 7)])
def test_clear_digits_are_digits(client, shape: str, digit: int) -> None:
    result = answer(client, data=canvas_png(shape, "alpha_only"), content_type="image/png")
    assert (result["digit"], result["verdict"]) == (digit, "digit")
    assert "candidates" not in result
    assert abs(sum(result["probabilities"]) - 1) < 1e-9 and len(result["probabilities"]) == 10


@pytest.mark.parametrize("name", sorted(NOT_DIGITS))
def test_dots_and_lines_are_not_digits_in_every_encoding(client, name: str) -> None:
    data = NOT_DIGITS[name]
    results = [
        answer(client, data=data, content_type="image/png"),
        answer(client, data={"image": (io.BytesIO(data), "pad.png")}),
        answer(client, json={"image": data_url(data)}),
    ]
    assert [r["verdict"] for r in results] == ["not_a_digit"] * 3, name
    for r in results:  # existing clients keep their keys
        assert set(r) >= {"digit", "probabilities", "confidence", "preview", "model"}
        assert abs(sum(r["probabilities"]) - 1) < 1e-9


def test_batch_results_carry_the_same_verdicts(client) -> None:
    images = [canvas_png("seven", "alpha_only"), NOT_DIGITS["dot"], NOT_DIGITS["line across the pad"]]
    singles = [answer(client, data=data, content_type="image/png") for data in images]
    response = client.post("/predict/batch", json={"images": [data_url(d) for d in images]})
    assert response.status_code == 200
    assert_matches_openapi("/predict/batch", "post", 200, response.json)
    batch = response.json["results"]
    assert [r["verdict"] for r in batch] == [r["verdict"] for r in singles] == ["digit", "not_a_digit", "not_a_digit"]
    for one, many in zip(singles, batch):
        assert one["digit"] == many["digit"]
        assert np.allclose(one["probabilities"], many["probabilities"], atol=1e-6)


def test_openapi_documents_verdict_and_candidates(client) -> None:
    schema = client.get("/openapi.json").json["components"]["schemas"]["Prediction"]
    assert "verdict" in schema["required"]
    assert schema["properties"]["verdict"]["enum"] == ["digit", "unsure", "not_a_digit"]
    assert "candidates" in schema["properties"] and "candidates" not in schema["required"]
