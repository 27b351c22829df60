"""Hostile input against POST /predict/number on the real server: the corpus of /predict
(tests/hardening/test_hostile_input.py) gets the same statuses and codes, and inputs aimed at the
segmenter (noise, thousands of specks, one stroke across a huge image) get a 4xx or a correct 200
in well under a second, never a 5xx or a hang."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from testkit.drawings import encode
from tests.support.raw_http import HANG, assert_json_error
from tests.hardening.test_hostile_input import JSON_CASES, RAW_CASES, check_answer

PATH = "/predict/number"


@pytest.mark.parametrize("name,body,media_type,status,expected", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_raw_body(hostile_server, name, body, media_type, status, expected) -> None:
    headers = {"Content-Type": media_type} if media_type else {}
    response = hostile_server.request("POST", PATH, body, headers, timeout=HANG)
    check_answer(hostile_server, PATH, response, status, expected)


@pytest.mark.parametrize("name,payload,status,expected", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_body(hostile_server, name, payload, status, expected) -> None:
    body = json.dumps(payload).encode()
    response = hostile_server.request("POST", PATH, body, {"Content-Type": "application/json"}, timeout=HANG)
    check_answer(hostile_server, PATH, response, status, expected)


def noise(density: float) -> bytes:
    rng = np.random.default_rng(int(density * 100))
    return encode(Image.fromarray(np.where(rng.random((640, 640)) < density, 0, 255).astype(np.uint8), "L"), "PNG")


def specks(count: int) -> bytes:
    rng = np.random.default_rng(count)
    image = Image.new("L", (4000, 4000), 255)
    draw = ImageDraw.Draw(image)
    for x, y in rng.integers(20, 3980, (count, 2)):
        draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=0)
    return encode(image, "PNG")


def stripes() -> bytes:
    a = np.full((280, 600), 255, np.uint8)  # under the work size: not averaged to grey
    a[:, ::3] = 0  # 200 one-pixel strokes: many pieces, every run touching the next row's
    return encode(Image.fromarray(a, "L"), "PNG")


def long_stroke() -> bytes:
    image = Image.new("L", (4000, 300), 255)
    ImageDraw.Draw(image).line((50, 150, 3950, 160), fill=0, width=30)
    return encode(image, "PNG")


SEGMENTER_CASES = [
    ("noise_2_percent", noise(0.02), 422, "too_many_pieces"),
    ("noise_half", noise(0.5), 422, "too_many_pieces"),
    ("specks_3000_on_4000x4000", specks(3000), 422, "too_many_pieces"),
    ("stripes", stripes(), 422, "too_many_pieces"),
    ("one_stroke_4000_wide", long_stroke(), 200, None),
]


@pytest.mark.parametrize("name,body,status,code", SEGMENTER_CASES, ids=[c[0] for c in SEGMENTER_CASES])
def test_inputs_aimed_at_the_segmenter(hostile_server, name, body, status, code) -> None:
    start = time.perf_counter()
    response = hostile_server.request("POST", PATH, body, {"Content-Type": "image/png"}, timeout=HANG)
    elapsed = time.perf_counter() - start
    check_answer(hostile_server, PATH, response, status, code)
    if status != 200:
        assert assert_json_error(response) == code
    assert elapsed < 2.0, f"{name} took {elapsed:.2f} s"
