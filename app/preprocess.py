"""Turn any drawing into what the network was trained on: an MNIST-style 28x28 field.

MNIST digits were size-normalised into a 20x20 box (aspect ratio kept, anti-aliased),
then shifted by whole pixels so that their centre of mass sits at the centre of a 28x28
field, white ink on black. A drawing from a canvas or a photo differs in every respect
that matters (size, position, polarity, transparency, stroke width, noise), so each
step below undoes one of those differences. Pillow does the resampling, NumPy the maths.
"""
from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
from PIL import Image

FIELD = 28  # MNIST field size
BOX = 20  # the longer side of the digit inside the field
# MNIST's mean centre of mass in pixel-index coordinates (measured on the test set: 13.99, 14.01).
CENTRE = 14.0
# Stroke width / longer side of the digit, on MNIST: 5th, 50th and 95th percentile 0.077, 0.116,
# 0.185 (same estimator as stroke_width_ratio on 10x upscaled test digits).
MNIST_STROKE_RATIO = 0.115
# Strokes thinner than this (about MNIST's 5th percentile) are thickened to MNIST_STROKE_RATIO.
# Thick strokes are left alone: thinning cannot reopen the holes (of a 0, 6, 8, 9) that a fat
# pen closed, and on MNIST digits dilated by a fat pen it cost 8-10 points of accuracy.
THIN_STROKE_RATIO = 0.075
# Work on at most this many pixels on the longer side; larger inputs are box-reduced first
# (an area average: a thin line stays, only fainter, and contrast normalisation restores it).
WORK_SIZE = 640
# Stroke width is adjusted on an intermediate raster this many times the 20 px box.
DETAIL = 4
MIN_CONTRAST = 0.1  # ink must differ from the background by 10% of the full range
NOISE_FLOOR = 0.15  # ink fainter than this (relative to the strongest ink) is noise
SPECK_FRACTION = 0.05  # a separate blob with less of the total ink than this is a speck
MIN_INK_PIXELS = 2.0  # less ink than this (in full-intensity pixels) is an empty drawing


class EmptyImage(ValueError):
    """The image holds no ink: nothing to classify."""


class ModelInput(NamedTuple):
    vector: np.ndarray  # (784,) float32 in [0, 1], white ink on black, row-major 28x28
    preview_png: bytes  # that 28x28 field as a greyscale PNG, to show what the model saw


def preprocess(image: Image.Image) -> ModelInput:
    """The whole MNIST recipe; raises EmptyImage when there is no ink to classify."""
    ink = ink_map(image)
    box = ink_bbox(ink)
    if box is None:
        raise EmptyImage("the image has no ink: draw a digit first")
    top, bottom, left, right = box
    digit = fit_to_box(ink[top:bottom, left:right])
    field = centre_by_mass(digit)
    return ModelInput(field.reshape(-1), encode_preview(field))


def ink_map(image: Image.Image) -> np.ndarray:
    """Ink intensity in [0, 1] (float32, bright ink on 0), whatever the mode and polarity.

    Transparency is flattened onto a background that contrasts with the ink's own colour,
    so dark strokes on a transparent canvas, light strokes on it, and alpha-only drawings
    (colour all black, the stroke only in alpha) all come out as visible ink.
    """
    image = reduce_to_work_size(image)
    grey, alpha = grey_and_alpha(image)
    if alpha is not None:
        grey = flatten_alpha(grey, alpha)
    ink = ink_from_grey(grey)
    peak = float(ink.max()) if ink.size else 0.0
    if peak < MIN_CONTRAST:
        return np.zeros_like(ink)
    # Contrast normalisation: the strongest ink becomes 1, whatever pen or scan produced it.
    ink *= 1.0 / peak
    # Subtract the noise floor (JPEG ringing, paper texture, faint smudges).
    ink -= NOISE_FLOOR
    np.maximum(ink, 0.0, out=ink)
    ink *= 1.0 / (1.0 - NOISE_FLOOR)
    return ink


def reduce_to_work_size(image: Image.Image) -> Image.Image:
    """Box-reduce big inputs by a whole factor: fast (C, one pass) and mass-preserving."""
    factor = -(-max(image.size) // WORK_SIZE)  # ceil
    if factor <= 1:
        return image
    if image.mode in ("P", "PA", "1"):
        image = image.convert("RGBA" if has_alpha(image) else "L")
    return image.reduce(factor)


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def grey_and_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Luminance and (if any pixel is transparent) alpha, both float32 in [0, 1]."""
    if image.mode.startswith("I") or image.mode == "F":
        # 16/32-bit greyscale (e.g. 16-bit PNG): scale by the format's range, not by 255.
        values = np.asarray(image, dtype=np.float32)
        full = 65535.0 if image.mode.startswith("I") else 255.0
        return np.clip(values / full, 0.0, 1.0), None
    if has_alpha(image):
        if image.mode not in ("LA", "RGBA"):
            image = image.convert("RGBA")
        la = np.asarray(image.convert("LA"), dtype=np.float32)
        alpha = la[..., 1]
        if alpha.min() < 255.0:
            return la[..., 0] * (1.0 / 255.0), alpha * (1.0 / 255.0)
        return la[..., 0] * (1.0 / 255.0), None
    return np.asarray(image.convert("L"), dtype=np.float32) * (1.0 / 255.0), None


def flatten_alpha(grey: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Composite onto white if the visible colour is dark, onto black if it is light."""
    weight = float(alpha.sum())
    if weight <= 0.0:
        return np.zeros_like(grey)  # fully transparent: nothing drawn
    ink_colour = float((grey * alpha).sum()) / weight
    background = 1.0 if ink_colour < 0.5 else 0.0
    return grey * alpha + background * (1.0 - alpha)


def ink_from_grey(grey: np.ndarray) -> np.ndarray:
    """Distance from the background level, on the ink's side (the background is the border's median)."""
    h, w = grey.shape
    ring = max(1, min(h, w) // 50)
    border = np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )
    background = float(np.median(border))
    ink = (background - grey) if background >= 0.5 else (grey - background)
    np.maximum(ink, 0.0, out=ink)
    return ink.astype(np.float32, copy=False)


def ink_bbox(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the ink, ignoring small specks apart from the digit.

    Specks are found on the row and column profiles: a run of inked columns (or rows)
    separated from the rest by empty ones and holding little of the total ink is dropped.
    """
    total = float(ink.sum())
    if total < MIN_INK_PIXELS:
        return None
    left, right = main_span(ink.sum(axis=0))
    top, bottom = main_span(ink[:, left:right].sum(axis=1))
    left, right = main_span(ink[top:bottom].sum(axis=0))
    if float(ink[top:bottom, left:right].sum()) < MIN_INK_PIXELS:
        return None
    return top, bottom, left, right


def main_span(profile: np.ndarray) -> tuple[int, int]:
    """[start, end) covering every run of nonzero profile that is not a speck."""
    inked = profile > 0
    if not inked.any():
        return 0, 0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], inked.view(np.int8), [0]))))
    starts, ends = edges[::2], edges[1::2]
    if len(starts) == 1:
        return int(starts[0]), int(ends[0])
    cumulative = np.concatenate(([0.0], np.cumsum(profile, dtype=np.float64)))
    masses = cumulative[ends] - cumulative[starts]
    keep = masses >= SPECK_FRACTION * masses.sum()
    keep[np.argmax(masses)] = True
    return int(starts[keep][0]), int(ends[keep][-1])


def stroke_width_ratio(ink: np.ndarray) -> float:
    """Stroke width / longer side: ink area over half the outline length.

    A stroke of length L and width w has area wL and an outline of about 2L; counting
    the outline as pixel transitions along rows and columns overestimates it by 4/pi on
    average over directions, hence the 2 * 4/pi factor.
    """
    mask = np.pad(ink >= 0.5, 1)
    transitions = np.count_nonzero(mask[:, 1:] != mask[:, :-1]) + np.count_nonzero(mask[1:] != mask[:-1])
    if transitions == 0:
        return 0.0
    width = (8.0 / np.pi) * float(ink.sum()) / transitions
    return width / max(ink.shape)


def fit_to_box(ink: np.ndarray) -> np.ndarray:
    """Scale the cropped digit so its longer side is 20 px, correcting the stroke width on the way."""
    ratio = stroke_width_ratio(ink)
    if ratio < THIN_STROKE_RATIO:
        ink = thicken_strokes(ink, ratio)
    h, w = ink.shape
    scale = BOX / max(h, w)
    digit = resize(ink, (max(1, round(w * scale)), max(1, round(h * scale))))
    np.clip(digit, 0.0, None, out=digit)
    peak = float(digit.max())
    if peak > 0:
        digit *= 1.0 / peak
    return digit


def thicken_strokes(ink: np.ndarray, ratio: float) -> np.ndarray:
    """Grow thin strokes to MNIST's width (3x3 max filter) on a raster 4x the box, cropped to its ink."""
    h, w = ink.shape
    detail = BOX * DETAIL
    scale = detail / max(h, w)
    raster = resize(ink, (max(1, round(w * scale)), max(1, round(h * scale))))
    peak = float(raster.max())
    if peak <= 0:
        return ink
    raster *= 1.0 / peak  # a thin line reduced in size is faint: make it full-strength again
    # Each 3x3 pass moves both edges of a stroke out by one pixel: the width grows by 2.
    passes = int(round((MNIST_STROKE_RATIO - ratio) * detail / 2.0))
    raster = np.pad(raster, passes)
    for _ in range(passes):
        raster = dilate3(raster)
    inked = raster > 0
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return raster[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def dilate3(a: np.ndarray) -> np.ndarray:
    """3x3 maximum filter (separable: rows, then columns)."""
    out = a.copy()
    np.maximum(out[1:], a[:-1], out=out[1:])
    np.maximum(out[:-1], a[1:], out=out[:-1])
    rows = out.copy()
    np.maximum(out[:, 1:], rows[:, :-1], out=out[:, 1:])
    np.maximum(out[:, :-1], rows[:, 1:], out=out[:, :-1])
    return out


def resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased resampling of a float image to (width, height)."""
    if a.shape[::-1] == size:
        return a.astype(np.float32, copy=True)
    resized = Image.fromarray(a.astype(np.float32, copy=False), "F").resize(size, Image.Resampling.LANCZOS)
    return np.array(resized, dtype=np.float32)


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Paste into 28x28, shifted by whole pixels so the centre of mass lands on MNIST's centre."""
    h, w = digit.shape
    mass = float(digit.sum())
    ys = np.arange(h, dtype=np.float32)
    xs = np.arange(w, dtype=np.float32)
    cy = float(digit.sum(axis=1) @ ys) / mass
    cx = float(digit.sum(axis=0) @ xs) / mass
    top = min(max(int(np.floor(CENTRE - cy + 0.5)), 0), FIELD - h)
    left = min(max(int(np.floor(CENTRE - cx + 0.5)), 0), FIELD - w)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + h, left : left + w] = np.clip(digit, 0.0, 1.0)
    return field


def encode_preview(field: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((field * 255.0 + 0.5).astype(np.uint8), "L").save(buf, "PNG", compress_level=1)
    return buf.getvalue()
