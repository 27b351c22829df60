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


def strokes(*lines: list[tuple[float, float]], width: int = 16) -> bytes:
    """Pen strokes (pad units 0..1) on the white pad, round joints, as the page draws them."""
    def draw_on(d: ImageDraw.ImageDraw) -> None:
        for line in lines:
            d.line([(280 * x, 280 * y) for x, y in line], fill="black", width=width, joint="curve")
    return pad(draw_on)


def zigzag(n: int) -> list[tuple[float, float]]:
    return [(0.12 + 0.76 * i / n, 0.3 if i % 2 else 0.7) for i in range(n + 1)]


def star() -> list[tuple[float, float]]:
    import math
    return [(0.5 + 0.36 * math.cos(math.radians(-90 + 144 * k)), 0.5 + 0.36 * math.sin(math.radians(-90 + 144 * k)))
            for k in range(6)]


# Drawn here, not taken from the training generators (model/data/nondigits.py).
DRAWN_NOT_DIGITS = {
    "letter A": strokes([(0.25, 0.85), (0.5, 0.15), (0.75, 0.85)], [(0.36, 0.58), (0.64, 0.58)]),
    "letter H": strokes([(0.3, 0.15), (0.3, 0.85)], [(0.7, 0.15), (0.7, 0.85)], [(0.3, 0.5), (0.7, 0.5)]),
    "triangle": strokes([(0.5, 0.15), (0.85, 0.8), (0.15, 0.8), (0.5, 0.15)]),
    "star": strokes(star()),
    "hash sign": strokes([(0.4, 0.15), (0.36, 0.85)], [(0.64, 0.15), (0.6, 0.85)],
                         [(0.2, 0.38), (0.8, 0.38)], [(0.2, 0.62), (0.8, 0.62)]),
    "zigzag scribble": strokes(zigzag(7)),
}


@pytest.mark.parametrize("name", sorted(DRAWN_NOT_DIGITS))
def test_letters_shapes_and_scribbles_are_not_digits(client, name: str) -> None:
    result = answer(client, data=DRAWN_NOT_DIGITS[name], content_type="image/png")
    assert result["verdict"] == "not_a_digit", (name, result["digit"], result["confidence"])


def test_calibration_is_stored_and_applied(client) -> None:
    """The served confidence is softmax(logits / T) over the 10 digits, T from the weights file."""
    from model.artifacts import weights_file
    from model.imaging.preprocess import preprocess
    from testkit.live_server import WEIGHTS

    served = client.get("/api/model").json
    t = served["metadata"]["calibration"]["temperature"]
    assert served["card"]["calibration"]["temperature"] == t and t != 1.0
    network = weights_file.load(WEIGHTS)
    for shape in ("zero", "seven"):
        data = canvas_png(shape, "alpha_only")
        result = answer(client, data=data, content_type="image/png")
        z = network.forward(preprocess(Image.open(io.BytesIO(data))).vector[None, :])[0, :10].astype(np.float64) / t
        expected = np.exp(z - z.max())
        expected /= expected.sum()
        assert np.allclose(result["probabilities"], expected, atol=1e-5)
        assert sum(result["probabilities"]) == pytest.approx(1.0, abs=1e-9)
        assert result["confidence"] == pytest.approx(expected.max(), abs=1e-5)
