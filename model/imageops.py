"""3x3 grey-level morphology on NumPy images: the one dilation (and erosion) of the project.

Used by training (model.training.augment: stroke-width changes) and by the server's
preprocessing (app.imaging.preprocess: thin strokes grown to MNIST's width). NumPy only.
"""
from __future__ import annotations

import numpy as np


def neighbourhood3(images: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """``reduce`` (np.maximum or np.minimum) over each pixel's 3x3 neighbourhood, zero outside the image.

    Works on the last two axes, so on one 2-D image or a batch (n, h, w) alike. Separable and in
    place (rows, then columns, then the border against the zero outside): no padded copy, which
    matters on the request path (the preprocessing dilates a raster several times per drawing).
    """
    out = images.copy()
    reduce(out[..., 1:, :], images[..., :-1, :], out=out[..., 1:, :])
    reduce(out[..., :-1, :], images[..., 1:, :], out=out[..., :-1, :])
    rows = out.copy()
    reduce(out[..., 1:], rows[..., :-1], out=out[..., 1:])
    reduce(out[..., :-1], rows[..., 1:], out=out[..., :-1])
    for edge in (out[..., 0, :], out[..., -1, :], out[..., :, 0], out[..., :, -1]):
        reduce(edge, 0, out=edge)
    return out


def dilate3(images: np.ndarray) -> np.ndarray:
    """3x3 maximum filter (zero outside): every stroke grows by one pixel on each side."""
    return neighbourhood3(images, np.maximum)


def erode3(images: np.ndarray) -> np.ndarray:
    """3x3 minimum filter (zero outside): every stroke shrinks by one pixel on each side."""
    return neighbourhood3(images, np.minimum)
