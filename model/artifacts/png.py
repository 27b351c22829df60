"""Grayscale and colour PNG files from NumPy arrays with the standard library's zlib (model/ has no Pillow),
and a small reader for 8-bit ones.

The project's one PNG writer: the evaluate CLI's error images, the server's preview
(app.imaging.preprocess, at zlib level 1: written directly, 4x cheaper than Pillow's save),
and the explanation's heat maps and templates (RGB/RGBA, model/artifacts/plots.py).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


def encode_png(image: np.ndarray, level: int = 9) -> bytes:
    """An 8-bit PNG of a 2-D array (grayscale) or an (h, w, 3|4) array (RGB, RGBA): uint8 as is,
    floats clipped to [0, 1] and scaled to 0-255 (rounded half up); ``level`` is zlib's
    compression level (0: stored, 1: fastest, 9: smallest)."""
    image = np.asarray(image)
    channels = image.shape[2] if image.ndim == 3 else 1
    if image.ndim not in (2, 3) or image.size == 0 or (image.ndim == 3 and channels not in (3, 4)):
        raise ValueError(f"expected a non-empty 2-D image or (h, w, 3|4) colours, got shape {image.shape}")
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)  # +0.5, then truncation: half up
    height, width = image.shape[:2]
    rows = np.empty((height, width * channels + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "none" on every scanline
    rows[:, 1:] = image.reshape(height, width * channels)
    colour_type = COLOUR_TYPES[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level))
        + _chunk(b"IEND", b"")
    )


def tile(images: np.ndarray, columns: int = 10, scale: int = 2, gap: int = 2) -> np.ndarray:
    """Lay (n, h, w) images out in a grid, each enlarged ``scale`` times, on a mid-grey background."""
    images = np.asarray(images, dtype=np.float32)
    n, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    big = images.repeat(scale, axis=1).repeat(scale, axis=2)
    th, tw = h * scale + gap, w * scale + gap
    grid = np.full((rows * th + gap, columns * tw + gap), 0.5, dtype=np.float32)
    for i, img in enumerate(big):
        r, c = divmod(i, columns)
        grid[gap + r * th : gap + r * th + h * scale, gap + c * tw : gap + c * tw + w * scale] = img
    return grid


class PngError(ValueError):
    """A file this small reader cannot read (not a PNG, 16-bit, palette, interlaced, corrupt)."""


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit non-interlaced PNG (grey, grey+alpha, RGB, RGBA) as a uint8 array: (h, w) for
    grey, else (h, w, channels). Enough for the 28x28 images this project writes and shows."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise PngError("not a PNG file")
    pos, header, idat = 8, None, []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise PngError("no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 4: 2, 2: 3, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise PngError(f"only 8-bit non-interlaced grey/RGB(A) PNGs are read (bit depth {depth}, colour type {colour})")
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise PngError(f"corrupt image data ({exc})") from None
    stride = width * channels
    if len(raw) != height * (stride + 1):
        raise PngError("image data does not match the header's size")
    rows = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if kind == 0:
            cur = line
        elif kind == 2:
            cur = (line + prev) & 0xFF
        elif kind in (1, 3, 4):  # these depend on the pixel to the left: one pass along the row
            cur = np.zeros(stride, np.int32)
            for x in range(stride):
                left = cur[x - channels] if x >= channels else 0
                up, up_left = prev[x], prev[x - channels] if x >= channels else 0
                if kind == 1:
                    predictor = left
                elif kind == 3:
                    predictor = (left + up) // 2
                else:
                    p = left + up - up_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                    predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                cur[x] = (line[x] + predictor) & 0xFF
        else:
            raise PngError(f"unknown filter type {kind}")
        out[y] = prev = cur
    image = out.astype(np.uint8)
    return image if channels == 1 else image.reshape(height, width, channels)
