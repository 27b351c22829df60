"""The preprocessing's output on the test drawings, as it was before its stages were rewritten in NumPy.

`python -m tests.support.preprocess_golden` wrote tests/support/preprocess_golden.json (SHA-256 of
every stage's array: dtype, shape and bytes) with the Pillow-based stages of commit 5425d22;
tests/app/imaging/test_preprocess_identical.py checks that today's stages give the very same bytes.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from app.imaging.decode import decode_image
from app.imaging.preprocess import WORK_SIZE, EmptyImage, digit_crop, fit_to_box, ink_image, preprocess
from testkit.drawings import STYLES, encode, stroke_mask, styled

GOLDEN = Path(__file__).with_suffix(".json")
BROWSER_PAYLOAD = Path(__file__).resolve().parents[2] / "bench" / "payloads" / "canvas_7_chromium.png"
MAX_PIXELS = 16_000_000

DRAWINGS = {  # the drawings tests/app/imaging/test_preprocess.py checks; the golden set adds a seven
    "centred": dict(shape="plus", size=280),
    "off_centre": dict(shape="plus", size=280, box=(8, 150, 98, 272), width=12),
    "tiny": dict(shape="plus", size=280, box=(200, 30, 212, 42), width=2),
    "huge_2000": dict(shape="plus", size=2000, box=(300, 200, 1700, 1800), width=140),
    "huge_2000_thin": dict(shape="plus", size=2000, box=(300, 200, 1700, 1800), width=2),
    "thick": dict(shape="zero", size=280, width=45),
    "thin": dict(shape="zero", size=280, width=1),
    "wide": dict(shape="plus", size=(600, 200), box=(20, 60, 580, 140), width=10),
    "one": dict(shape="one", size=280),
}
GOLDEN_DRAWINGS = {**DRAWINGS, "seven": dict(shape="seven", size=280)}


def cases() -> Iterator[tuple[str, bytes]]:
    """(name, encoded file): every drawing in every style as PNG, plus other encodings and modes."""
    for name, spec in GOLDEN_DRAWINGS.items():
        mask = stroke_mask(**spec)
        for style in STYLES:
            yield f"{name}-{style}-png", encode(styled(mask, style), "PNG")
        yield f"{name}-jpeg", encode(styled(mask, "dark_on_light"), "JPEG", quality=85)
        yield f"{name}-webp", encode(styled(mask, "light_on_transparent"), "WEBP", lossless=True)
    mask = stroke_mask("seven", 280)
    yield "browser-payload", BROWSER_PAYLOAD.read_bytes()
    yield "rgb-png", encode(styled(mask, "blue_on_white"), "PNG")
    yield "la-png", encode(styled(mask, "alpha_only").convert("LA"), "PNG")
    yield "palette-gif", encode(styled(mask, "dark_on_light").convert("P"), "GIF")
    yield "palette-transparent-png", encode(styled(mask, "alpha_only").convert("P"), "PNG")
    yield "bilevel-png", encode(styled(mask, "dark_on_light").convert("1"), "PNG")
    yield "grey16-png", encode(Image.fromarray(mask.astype(np.uint16) * 257), "PNG")
    yield "bmp", encode(styled(mask, "light_on_dark"), "BMP")
    noisy = 255 - mask.astype(np.int16)
    noisy += np.random.default_rng(1).integers(-30, 30, noisy.shape).astype(np.int16)
    noisy[10:14, 10:14] = 0  # a speck
    yield "noisy-speck-png", encode(Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8), "L"), "PNG")
    grey_paper = (200 - (mask.astype(np.float32) * 0.6)).astype(np.uint8)  # background neither 0 nor 255
    yield "grey-paper-png", encode(Image.fromarray(grey_paper, "L"), "PNG")
    yield "empty-png", encode(Image.new("RGBA", (280, 280)), "PNG")


def digest(array: np.ndarray) -> str:
    array = np.ascontiguousarray(array)
    return hashlib.sha256(f"{array.dtype.str}{array.shape}".encode() + array.tobytes()).hexdigest()[:32]


def stages(data: bytes) -> dict[str, str]:
    """Digest of each stage's output on one file (or the EmptyImage message where it stops)."""
    out: dict[str, str] = {}
    image = decode_image(data, MAX_PIXELS, work_size=WORK_SIZE)
    try:
        ink = ink_image(image)
        out["ink_image"] = digest(ink)
        crop = digit_crop(ink)
        out["digit_crop"] = digest(crop)
        out["fit_to_box"] = digest(fit_to_box(crop))
        model_input = preprocess(image)
        out["vector"] = digest(model_input.vector)
        out["preview"] = hashlib.sha256(model_input.preview_png).hexdigest()[:32]
    except EmptyImage as exc:
        out["empty"] = str(exc)
    return out


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({name: stages(data) for name, data in cases()}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
