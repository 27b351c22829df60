"""Grayscale PNG files from NumPy arrays with the standard library's zlib (model/ has no Pillow).

The project's one PNG writer: the evaluate CLI's error images and the server's preview
(app.imaging.preprocess, at zlib level 1: written directly, 4x cheaper than Pillow's save).
"""
from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray, level: int = 9) -> bytes:
    """An 8-bit grayscale PNG of a 2-D array: uint8 as is, floats clipped to [0, 1] and scaled to 0-255
    (rounded half up); ``level`` is zlib's compression level (1: fastest, 9: smallest)."""
    image = np.asarray(image)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"expected a non-empty 2-D image, got shape {image.shape}")
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)  # +0.5, then truncation: half up
    height, width = image.shape
    rows = np.empty((height, width + 1), dtype=np.uint8)
    rows[:, 0] = 0  # filter type "none" on every scanline
    rows[:, 1:] = image
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit, grayscale
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
