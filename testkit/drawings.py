"""Drawings the tests render themselves: digit-like strokes in every polarity, transparency and encoding."""
from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

STYLES = ("dark_on_light", "light_on_dark", "alpha_only", "light_on_transparent", "blue_on_white")
CANVAS = 280  # the drawing page's canvas, in CSS pixels
RESAMPLING = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC, Image.Resampling.LANCZOS)


def stroke_mask(
    shape: str = "zero", size: int | tuple[int, int] = 280, box: tuple[float, float, float, float] | None = None,
    width: int = 18,
) -> np.ndarray:
    """Ink coverage (uint8, 255 = ink) of a simple digit drawn inside box (left, top, right, bottom)."""
    w, h = (size, size) if isinstance(size, int) else size
    left, top, right, bottom = box or (0.3 * w, 0.15 * h, 0.7 * w, 0.85 * h)
    # Draw at 4x and reduce: anti-aliased edges, as a browser canvas draws them.
    ss = 4
    canvas = Image.new("L", (w * ss, h * ss), 0)
    draw = ImageDraw.Draw(canvas)
    L, T, R, B = (v * ss for v in (left, top, right, bottom))
    pen = max(1, int(round(width * ss)))
    if shape == "zero":
        draw.ellipse((L, T, R, B), outline=255, width=pen)
    elif shape == "one":
        cx = (L + R) / 2
        draw.line([(cx, T), (cx, B)], fill=255, width=pen)
    elif shape == "seven":
        draw.line([(L, T), (R, T), (L + 0.35 * (R - L), B)], fill=255, width=pen, joint="curve")
    elif shape == "plus":  # symmetric in both axes: its centre of mass is the box centre
        cx, cy = (L + R) / 2, (T + B) / 2
        draw.line([(cx, T), (cx, B)], fill=255, width=pen)
        draw.line([(L, cy), (R, cy)], fill=255, width=pen)
    else:
        raise ValueError(shape)
    return np.asarray(canvas.reduce(ss))


def styled(mask: np.ndarray, style: str) -> Image.Image:
    """The same strokes in one of STYLES."""
    a = mask.astype(np.uint8)
    if style == "dark_on_light":
        return Image.fromarray(255 - a, "L")
    if style == "light_on_dark":
        return Image.fromarray(a, "L")
    rgba = np.zeros(a.shape + (4,), np.uint8)
    rgba[..., 3] = a
    if style == "alpha_only":  # a cleared browser canvas: transparent black, strokes only in alpha
        return Image.fromarray(rgba, "RGBA")
    if style == "light_on_transparent":
        rgba[..., :3] = np.where(a[..., None] > 0, 255, 0)
        return Image.fromarray(rgba, "RGBA")
    if style == "blue_on_white":
        rgb = np.empty(a.shape + (3,), np.float32)
        t = a[..., None] / 255.0
        rgb[:] = (1 - t) * np.array([255, 255, 255]) + t * np.array([20, 40, 200])
        return Image.fromarray(rgb.round().astype(np.uint8), "RGB")
    raise ValueError(style)


def render_like_canvas(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """The 28x28 digit scaled up 4-10x (smooth, anti-aliased), placed anywhere on a 280x280 pad,
    in a random polarity / transparency, as PNG."""
    return canvas_drawing(digit, rng)[0]


def canvas_drawing(digit: np.ndarray, rng: np.random.Generator) -> tuple[bytes, str]:
    """render_like_canvas's PNG and the style it drew in (one of STYLES).

    Shared by tests/app/imaging/test_accuracy.py and bench/canvas_accuracy.py: the same seed gives
    the same drawings in both.
    """
    size = int(rng.integers(112, CANVAS + 1))
    resample = RESAMPLING[int(rng.integers(len(RESAMPLING)))]
    big = np.asarray(Image.fromarray(digit).resize((size, size), resample))
    x, y = (int(v) for v in rng.integers(0, CANVAS - size + 1, 2))
    coverage = np.zeros((CANVAS, CANVAS), np.uint8)
    coverage[y : y + size, x : x + size] = big
    style = STYLES[int(rng.integers(len(STYLES)))]
    return encode(styled(coverage, style), "PNG"), style


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64," + base64.b64encode(data).decode("ascii")


def canvas_png(shape: str = "seven", style: str = "alpha_only", size: int = 280, width: int = 18) -> bytes:
    """A typical request: a browser canvas (transparent, strokes in alpha) as PNG."""
    return encode(styled(stroke_mask(shape, size, width=width), style), "PNG")


def png_claiming_size(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims another size (CRC fixed): only the header is honest."""
    data = bytearray(encode(Image.new("L", (1, 1), 255), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def webp_claiming_size(width: int, height: int) -> bytes:
    data = bytearray(encode(styled(stroke_mask("one", 64, width=6), "dark_on_light"), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L", data[12:16]
    bits = struct.unpack("<I", data[21:25])[0]
    bits = (bits & ~0x0FFFFFFF) | (width - 1) | ((height - 1) << 14)
    data[21:25] = struct.pack("<I", bits)
    return bytes(data)
