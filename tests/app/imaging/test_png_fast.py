"""libspng decodes the plain PNGs to exactly Pillow's pixels; every other PNG is left to Pillow."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app.imaging.png_fast import decode_png
from testkit.drawings import encode, stroke_mask, styled
from tests.support.preprocess_golden import BROWSER_PAYLOAD

MASK = stroke_mask("seven", 280)
PLAIN = {
    "browser_canvas": BROWSER_PAYLOAD.read_bytes(),
    "rgba": encode(styled(MASK, "alpha_only"), "PNG"),
    "rgb": encode(styled(MASK, "blue_on_white"), "PNG"),
    "grey": encode(styled(MASK, "dark_on_light"), "PNG"),
    "grey_optimised": encode(styled(MASK, "light_on_dark"), "PNG", optimize=True),
}
LEFT_TO_PILLOW = {
    "grey_alpha": encode(styled(MASK, "alpha_only").convert("LA"), "PNG"),
    "palette": encode(styled(MASK, "dark_on_light").convert("P"), "PNG"),
    "palette_transparent": encode(styled(MASK, "alpha_only").convert("P"), "PNG"),
    "bilevel": encode(styled(MASK, "dark_on_light").convert("1"), "PNG"),
    "grey16": encode(Image.fromarray(MASK.astype(np.uint16) * 257), "PNG"),
    "rgb_colour_key": encode(styled(MASK, "blue_on_white"), "PNG", transparency=(255, 255, 255)),
}


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data), formats=("PNG",))


@pytest.mark.parametrize("name", PLAIN)
def test_plain_pngs_decode_to_pillows_pixels(name: str) -> None:
    fast = decode_png(opened(PLAIN[name]), PLAIN[name])
    assert fast is not None, "libspng was not used"
    reference = opened(PLAIN[name])
    reference.load()
    assert fast.mode == reference.mode and fast.size == reference.size
    assert np.array_equal(np.asarray(fast), np.asarray(reference))


@pytest.mark.parametrize("name", LEFT_TO_PILLOW)
def test_other_pngs_are_left_to_pillow(name: str) -> None:
    assert decode_png(opened(LEFT_TO_PILLOW[name]), LEFT_TO_PILLOW[name]) is None


def test_a_png_libspng_refuses_goes_to_pillow() -> None:
    data = bytearray(PLAIN["rgba"])
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # compressed pixels changed: the chunk's CRC no longer matches
    assert decode_png(opened(bytes(data)), bytes(data)) is None
