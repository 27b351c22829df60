"""Grayscale and colour PNG files from NumPy arrays with the standard library's zlib (model/ has no Pillow)."""
from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


def encode_png(image: np.ndarray, level: int = 9) -> bytes:
    """An 8-bit PNG of a 2-D array (grayscale) or an (h, w, 3|4) array (RGB, RGBA): uint8 as is,
    floats in [0, 1] scaled to 0-255."""
    image = np.asarray(image)
    channels = image.shape[2] if image.ndim == 3 else 1
    if image.ndim not in (2, 3) or image.size == 0 or (image.ndim == 3 and channels not in (3, 4)):
        raise ValueError(f"expected a non-empty 2-D image or (h, w, 3|4) colours, got shape {image.shape}")
    if image.dtype != np.uint8:
        image = np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
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
