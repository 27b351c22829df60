"""POST /predict/batch: several drawings in one request, per-image errors in place."""
from __future__ import annotations

import numpy as np
import pytest

from app import create_app
from testkit.drawings import canvas_png, data_url, png_claiming_size, stroke_mask, styled, encode
from tests.support.openapi_check import assert_matches_openapi
from testkit.live_server import WEIGHTS

SHAPES = ("seven", "one", "zero")


def post_batch(client, images):
    response = client.post("/predict/batch", json={"images": images})
    assert_matches_openapi("/predict/batch", "post", response.status_code, response.json)
    return response


def test_batch_answers_each_image_as_predict_does(client) -> None:
    images = [data_url(canvas_png(shape, style)) for shape in SHAPES for style in ("alpha_only", "dark_on_light")]
    response = post_batch(client, images)
    assert response.status_code == 200
    results = response.json["results"]
    assert len(results) == len(images)
    for image, result in zip(images, results):
        single = client.post("/predict", json={"image": image}).json
        assert result["digit"] == single["digit"]
        assert result["preview"] == single["preview"]
        assert result["model"] == single["model"]
        np.testing.assert_allclose(result["probabilities"], single["probabilities"], rtol=1e-4, atol=1e-6)
        assert abs(sum(result["probabilities"]) - 1) < 1e-9
    assert [r["digit"] for r in results[::2]] == [7, 1, 0]


def test_a_bad_image_gets_its_own_error_and_the_others_are_answered(client) -> None:
    blank = data_url(encode(styled(np.zeros((280, 280), np.uint8), "dark_on_light"), "PNG"))
    images = [
        data_url(canvas_png("seven")),
        blank,
        "not base64 !!!",
        5,
        data_url(b"GIF89a this is no gif"),
        "data:image/svg+xml;base64,PHN2Zy8+",
        data_url(canvas_png("one")),
    ]
    response = post_batch(client, images)
    assert response.status_code == 200
    results = response.json["results"]
    codes = [r.get("error", {}).get("code") for r in results]
    assert codes == [None, "empty_image", "undecodable_image", "malformed_request", "undecodable_image",
                     "unsupported_media_type", None]
    assert "images[3]" in results[3]["error"]["message"]
    assert (results[0]["digit"], results[6]["digit"]) == (7, 1)


@pytest.mark.parametrize("kwargs, status, code", [
    ({"data": b"{", "content_type": "application/json"}, 400, "malformed_json"),
    ({"json": {"image": "x"}}, 400, "missing_image"),
    ({"json": {"images": "x"}}, 400, "missing_image"),
    ({"json": []}, 400, "missing_image"),
    ({"json": {"images": []}}, 400, "missing_image"),
    ({"json": {"images": ["x"] * 65}}, 413, "too_many_images"),
    ({"data": b"\x89PNG", "content_type": "image/png"}, 415, "unsupported_media_type"),
])
def test_a_malformed_request_fails_as_a_whole(client, kwargs, status, code) -> None:
    response = client.post("/predict/batch", **kwargs)
    assert response.status_code == status
    assert response.json["error"]["code"] == code
    assert_matches_openapi("/predict/batch", "post", status, response.json)


def test_images_share_one_pixel_budget(tmp_path) -> None:
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "i"),
                      "MAX_IMAGE_PIXELS": 2 * 280 * 280 + 500})
    client = app.test_client()
    seven = data_url(canvas_png("seven"))
    results = post_batch(client, [seven, seven, seven, data_url(encode(styled(stroke_mask("one", 20, width=3),
                                                                                  "dark_on_light"), "PNG"))]).json["results"]
    assert [r.get("digit") for r in results] == [7, 7, None, 1]  # a 20x20 one still fits in the 500 left
    assert results[2]["error"]["code"] == "too_many_pixels"
    assert "batch" in results[2]["error"]["message"]


def test_a_huge_image_header_is_refused_before_decoding(client) -> None:
    results = post_batch(client, [data_url(png_claiming_size(50000, 50000))]).json["results"]
    assert results[0]["error"]["code"] == "too_many_pixels"


def test_a_batch_counts_one_per_four_images_against_the_predict_limit(tmp_path) -> None:
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "i"),
                      "PREDICT_LIMIT": "5/minute"})
    client = app.test_client()
    seven = data_url(canvas_png("seven"))

    def batch(n: int) -> int:
        return client.post("/predict/batch", json={"images": [seven] * n},
                           environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code

    assert [batch(12), batch(5)] == [200, 200]  # 3 + 2 units use up the 5
    response = client.post("/predict/batch", json={"images": [seven]}, environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert response.status_code == 429
    assert_matches_openapi("/predict/batch", "post", 429, response.json)
