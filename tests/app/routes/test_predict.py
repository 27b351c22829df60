"""POST /predict in every accepted form and every error, plus the other JSON endpoints."""
from __future__ import annotations

import base64
import io
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from app import create_app
from testkit.live_server import WEIGHTS
from testkit.drawings import (
    canvas_png,
    data_url,
    encode,
    png_claiming_size,
    stroke_mask,
    styled,
    webp_claiming_size,
)
from tests.support.openapi_check import assert_matches_openapi

PNG = canvas_png("one", "alpha_only")


def predict(client, **kwargs):
    response = client.post("/predict", **kwargs)
    assert response.is_json, response.data[:200]
    if response.status_code != 405:
        assert_matches_openapi("/predict", "post", response.status_code, response.json)
    return response


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.json
    assert response.is_json
    error = response.json["error"]
    assert set(error) == {"code", "message", "request_id"} and error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    if code:
        assert error["code"] == code
    assert "Traceback" not in response.get_data(as_text=True)
    return error


# --- the three request forms ------------------------------------------------------------


def test_raw_png_body(client) -> None:
    response = predict(client, data=PNG, content_type="image/png")
    assert response.status_code == 200
    body = response.json
    assert body["digit"] == 1
    assert len(body["probabilities"]) == 10 and sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-6)
    assert body["confidence"] == max(body["probabilities"]) == body["probabilities"][body["digit"]]
    assert body["model"] == client.application.extensions["model_holder"].current.version
    preview = Image.open(io.BytesIO(base64.b64decode(body["preview"].split(",", 1)[1])))
    assert preview.size == (28, 28) and preview.format == "PNG"


def test_multipart_file_field(client) -> None:
    response = predict(client, data={"image": (io.BytesIO(PNG), "drawing.png", "image/png")})
    assert response.status_code == 200 and response.json["digit"] == 1


def test_multipart_text_field_with_data_url(client) -> None:
    response = predict(client, data={"image": data_url(PNG)}, content_type="multipart/form-data")
    assert response.status_code == 200 and response.json["digit"] == 1


@pytest.mark.parametrize(
    "text",
    [
        data_url(PNG),
        "DATA:image/png;charset=x;base64," + base64.b64encode(PNG).decode(),
        "data:;base64," + base64.b64encode(PNG).decode(),
        base64.b64encode(PNG).decode(),
        base64.b64encode(PNG).decode().rstrip("="),  # padding dropped
        base64.urlsafe_b64encode(PNG).decode(),
        "\n".join(base64.encodebytes(PNG).decode().split("\n")),  # MIME line breaks
    ],
    ids=["data_url", "data_url_params", "data_url_no_type", "plain", "no_padding", "urlsafe", "line_breaks"],
)
def test_json_image(client, text: str) -> None:
    response = predict(client, json={"image": text})
    assert response.status_code == 200 and response.json["digit"] == 1


def test_every_form_and_format_gives_the_same_answer(client) -> None:
    image = styled(stroke_mask("zero", 280, width=20), "dark_on_light")
    answers = []
    for fmt, media_type in [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"),
                            ("GIF", "image/gif"), ("BMP", "image/bmp")]:
        data = encode(image, fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
        for kwargs in (
            {"data": data, "content_type": media_type},
            {"data": {"image": (io.BytesIO(data), "x")}},
            {"json": {"image": data_url(data, media_type)}},
        ):
            response = predict(client, **kwargs)
            assert response.status_code == 200, (fmt, response.json)
            answers.append(response.json)
    assert {a["digit"] for a in answers} == {0}
    probabilities = np.array([a["probabilities"] for a in answers])
    assert np.abs(probabilities - probabilities[0]).max() < 0.02


def test_animated_gif_first_frame(client) -> None:
    one = styled(stroke_mask("one", 200, width=14), "dark_on_light")
    zero = styled(stroke_mask("zero", 200, width=14), "dark_on_light")
    buf = io.BytesIO()
    one.save(buf, "GIF", save_all=True, append_images=[zero, zero], duration=50)
    response = predict(client, data=buf.getvalue(), content_type="image/gif")
    assert response.status_code == 200 and response.json["digit"] == 1


def test_declared_type_may_differ_from_the_real_accepted_format(client) -> None:
    jpeg = encode(styled(stroke_mask("one"), "dark_on_light"), "JPEG", quality=90)
    response = predict(client, data=jpeg, content_type="image/png")
    assert response.status_code == 200 and response.json["digit"] == 1


# --- 400 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"data": b"", "content_type": "image/png"}, "undecodable_image"),
        ({"data": b"not an image at all", "content_type": "image/png"}, "undecodable_image"),
        ({"data": PNG[: len(PNG) // 2], "content_type": "image/png"}, "undecodable_image"),
        ({"data": PNG[:40], "content_type": "image/png"}, "undecodable_image"),
        ({"data": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "content_type": "image/png"}, "undecodable_image"),
        ({"data": b"\xff\xd8\xff\xe0" + b"\x00" * 64, "content_type": "image/jpeg"}, "undecodable_image"),
        ({"data": b"GIF89a\x10\x00\x10\x00", "content_type": "image/gif"}, "undecodable_image"),
        ({"data": b"BM" + b"\xff" * 60, "content_type": "image/bmp"}, "undecodable_image"),
        ({"data": b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 30, "content_type": "image/webp"}, "undecodable_image"),
        ({"data": b"{not json", "content_type": "application/json"}, "malformed_json"),
        ({"data": b"", "content_type": "application/json"}, "malformed_json"),
        ({"data": b"[" * 100_000 + b"]" * 100_000, "content_type": "application/json"}, "malformed_json"),
        ({"json": [1, 2]}, "missing_image"),
        ({"json": {"picture": data_url(PNG)}}, "missing_image"),
        ({"json": {"image": 42}}, "malformed_request"),
        ({"json": {"image": None}}, "malformed_request"),
        ({"json": {"image": ""}}, "undecodable_image"),
        ({"json": {"image": "data:image/png;base64,!!!!"}}, "undecodable_image"),
        ({"json": {"image": "%%%%not base64%%%%"}}, "undecodable_image"),
        ({"json": {"image": "data:image/png," + PNG.hex()}}, "undecodable_image"),
        ({"json": {"image": "data:image/png;base64"}}, "undecodable_image"),
        ({"json": {"image": base64.b64encode(b"plain text").decode()}}, "undecodable_image"),
        ({"data": {"other": (io.BytesIO(PNG), "x.png")}}, "missing_image"),
        ({"data": {}, "content_type": "multipart/form-data"}, "missing_image"),
        ({"data": b"--x\r\ngarbage", "content_type": "multipart/form-data; boundary=x"}, "missing_image"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_malformed_requests_are_400(client, kwargs: dict, code: str) -> None:
    assert_error(predict(client, **kwargs), 400, code)


# --- 413 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,media_type",
    [
        (encode(Image.new("1", (5000, 4000), 1), "PNG"), "image/png"),  # 20 MP, real pixels
        (png_claiming_size(30000, 30000), "image/png"),  # 900 MP: Pillow's own bomb guard
        (png_claiming_size(4001, 4000), "image/png"),  # just over 16 MP: the explicit check
        (webp_claiming_size(16384, 16384), "image/webp"),  # refused before libwebp allocates
        (b"GIF89a\xff\xff\xff\xff\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "image/gif"),
    ],
    ids=["png_20mp", "png_bomb_header", "png_just_over", "webp_bomb_header", "gif_bomb_header"],
)
def test_too_many_pixels_is_413_before_decoding(client, data: bytes, media_type: str) -> None:
    assert_error(predict(client, data=data, content_type=media_type), 413, "too_many_pixels")
    assert_error(predict(client, json={"image": data_url(data, media_type)}), 413, "too_many_pixels")


@pytest.fixture
def small_app():
    return create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "MAX_CONTENT_LENGTH": 50_000,
                       "MAX_IMAGE_PIXELS": 100_000})


def test_too_many_bytes_is_413_in_every_form(small_app) -> None:
    client = small_app.test_client()
    big = PNG + b"\x00" * 60_000  # trailing bytes after IEND: would decode if accepted
    assert_error(predict(client, data=big, content_type="image/png"), 413, "too_large")
    assert_error(predict(client, data={"image": (io.BytesIO(big), "x.png")}), 413, "too_large")
    assert_error(predict(client, json={"image": data_url(big)}), 413, "too_large")
    assert predict(client, data=PNG, content_type="image/png").status_code == 200


def test_default_byte_limit_is_5_mb(client) -> None:
    assert_error(predict(client, data=b"\x00" * (5 * 1024 * 1024 + 1), content_type="image/png"), 413, "too_large")


def test_pixel_limit_is_configurable(small_app) -> None:
    client = small_app.test_client()
    ok = encode(styled(stroke_mask("one", 316), "dark_on_light"), "PNG")  # 99,856 px
    too_big = encode(styled(stroke_mask("one", 317), "dark_on_light"), "PNG")  # 100,489 px
    assert predict(client, data=ok, content_type="image/png").status_code == 200
    assert_error(predict(client, data=too_big, content_type="image/png"), 413, "too_many_pixels")


# --- 415 -------------------------------------------------------------------------------

TIFF = encode(styled(stroke_mask("one"), "dark_on_light"), "TIFF")
ICO = encode(styled(stroke_mask("one", 64), "dark_on_light"), "ICO")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": PNG, "content_type": "text/plain"},
        {"data": PNG, "content_type": "application/octet-stream"},
        {"data": PNG, "content_type": "application/x-www-form-urlencoded"},
        {"data": PNG, "content_type": "image/tiff"},
        {"data": PNG, "content_type": "image/svg+xml"},
        {"data": PNG},
        {"data": TIFF, "content_type": "image/png"},
        {"data": ICO, "content_type": "image/png"},
        {"data": {"image": (io.BytesIO(TIFF), "x.tiff")}},
        {"data": {"image": (io.BytesIO(ICO), "x.ico")}},
        {"json": {"image": data_url(TIFF, "image/tiff")}},
        {"json": {"image": data_url(PNG, "text/html")}},
        {"json": {"image": base64.b64encode(TIFF).decode()}},
        {"data": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "content_type": "image/png"},
        {"data": encode(Image.new("RGB", (8, 8)), "PDF"), "content_type": "image/png"},
    ],
    ids=["text", "octet", "form", "declared_tiff", "declared_svg", "no_type", "real_tiff", "real_ico",
         "multipart_tiff", "multipart_ico", "data_url_tiff", "data_url_html", "base64_tiff", "svg", "pdf"],
)
def test_unsupported_types_are_415(client, kwargs: dict) -> None:
    assert_error(predict(client, **kwargs), 415, "unsupported_media_type")


# --- 422 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)), "PNG"),
        encode(Image.new("L", (280, 280), 255), "PNG"),
        encode(Image.new("RGB", (280, 280), (255, 255, 255)), "JPEG", quality=40),
    ],
    ids=["cleared_canvas", "white", "white_jpeg"],
)
def test_no_ink_is_422_empty_image(client, data: bytes) -> None:
    assert_error(predict(client, data=data, content_type="image/png"), 422, "empty_image")


# --- other statuses: JSON, never an HTML page or a stack trace --------------------------


def test_unknown_route_is_json_404(client) -> None:
    response = client.get("/no/such/page")
    assert_error(response, 404, "not_found")
    assert_matches_openapi_error(response.json)


def assert_matches_openapi_error(body: dict) -> None:
    assert_matches_openapi("/predict", "post", 400, body)  # the shared Error schema


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_wrong_method_is_json_405_with_allow(client, method: str) -> None:
    response = getattr(client, method)("/predict")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert_matches_openapi("/predict", "post", 405, response.json)


@pytest.mark.parametrize("path", ["/predict", "/feedback", "/healthz"])
def test_options_is_204_with_allow_and_no_body(client, path: str) -> None:
    response = client.options(path)
    assert response.status_code == 204 and response.data == b""
    assert "OPTIONS" in response.headers["Allow"] and "Content-Type" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # the usual headers still apply


def test_unexpected_errors_are_json_500_without_trace(app) -> None:
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "ok"
    assert response.json["model"] == client.application.extensions["model_holder"].current.version
    assert_matches_openapi("/healthz", "get", 200, response.json)


def test_api_model_serves_the_loaded_model_and_its_card(client) -> None:
    response = client.get("/api/model")
    assert response.status_code == 200
    assert_matches_openapi("/api/model", "get", 200, response.json)
    current = client.application.extensions["model_holder"].current
    assert response.json["sha256"] == current.sha256 and len(current.sha256) == 64
    assert response.json["architecture"]["input_size"] == 784
    card_file = WEIGHTS.with_suffix(".json")
    if card_file.exists():  # the card is optional; when shipped it is served verbatim
        import json

        assert response.json["card"] == json.loads(card_file.read_text())
    else:
        assert response.json["card"] is None


def test_api_model_serves_a_card_beside_the_weights(tmp_path) -> None:
    import shutil

    shutil.copy(WEIGHTS, tmp_path / "m.npz")
    (tmp_path / "m.json").write_text('{"test_accuracy": 0.981, "note": "card"}')
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(tmp_path / "m.npz")})
    assert app.test_client().get("/api/model").json["card"] == {"test_accuracy": 0.981, "note": "card"}
    (tmp_path / "m.json").write_text("{broken")
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(tmp_path / "m.npz")})
    assert app.test_client().get("/api/model").json["card"] is None


def test_openapi_document(client) -> None:
    from jsonschema import Draft202012Validator

    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json
    assert doc["openapi"].startswith("3.")
    assert {"/", "/predict", "/healthz", "/api/model", "/openapi.json"} <= set(doc["paths"])
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    documented = set(doc["paths"]["/predict"]["post"]["responses"])
    assert {"200", "400", "405", "413", "415", "422"} <= documented


def test_index_renders_the_page_template(app, tmp_path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>page under test</title>")
    app.jinja_loader.searchpath = [str(tmp_path)]
    response = app.test_client().get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert b"page under test" in response.data


# --- nothing a client sends produces a 5xx ----------------------------------------------

SAMPLES = [
    canvas_png("seven", "light_on_transparent"),
    encode(styled(stroke_mask("zero", 120), "dark_on_light"), "JPEG", quality=80),
    encode(styled(stroke_mask("zero", 120), "dark_on_light"), "GIF"),
    encode(styled(stroke_mask("zero", 120), "alpha_only"), "WEBP"),
    encode(styled(stroke_mask("zero", 120), "dark_on_light"), "BMP"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sample=st.sampled_from(SAMPLES),
    cut=st.integers(min_value=0, max_value=4000),
    flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=6),
    form=st.sampled_from(["raw", "multipart", "json"]),
)
def test_corrupted_images_never_cause_a_5xx(client, sample: bytes, cut: int, flips, form: str) -> None:
    data = bytearray(sample[: max(cut, 1)] if cut < len(sample) else sample)
    for position, xor in flips:
        if position < len(data):
            data[position] ^= xor
    data = bytes(data)
    kwargs = {
        "raw": {"data": data, "content_type": "image/png"},
        "multipart": {"data": {"image": (io.BytesIO(data), "x")}},
        "json": {"json": {"image": base64.b64encode(data).decode()}},
    }[form]
    response = predict(client, **kwargs)
    assert response.status_code in (200, 400, 413, 415, 422), response.json


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), content_type=st.sampled_from(
    ["image/png", "image/gif", "application/json", "multipart/form-data; boundary=b", "text/plain", ""]))
def test_random_bodies_never_cause_a_5xx(client, body: bytes, content_type: str) -> None:
    response = client.post("/predict", data=body, content_type=content_type or None)
    assert response.is_json and 400 <= response.status_code < 500, response.status_code
