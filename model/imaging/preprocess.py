"""Turn any drawing into what the network was trained on: an MNIST-style 28x28 field.

MNIST digits were size-normalised into a 20x20 box (aspect ratio kept, anti-aliased),
then shifted by whole pixels so that their centre of mass sits at the centre of a 28x28
field, white ink on black. A drawing from a canvas or a photo differs in every respect
that matters (size, position, polarity, transparency, stroke width, noise), so each
step below undoes one of those differences. Pillow does the resampling, NumPy the maths.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageChops

from model.artifacts.png import encode_png
from model.imageops import dilate3

FIELD = 28  # MNIST field size
BOX = 20  # the longer side of the digit inside the field
# MNIST's mean centre of mass in pixel-index coordinates (measured on the test set: 13.99, 14.01).
CENTRE = 14.0
# Stroke width / longer side of the digit, on MNIST: 5th, 50th and 95th percentile 0.077, 0.116,
# 0.185 (same estimator as stroke_width_ratio on 10x upscaled test digits).
MNIST_STROKE_RATIO = 0.115
# Strokes thinner than this (about MNIST's 5th percentile) are thickened to MNIST_STROKE_RATIO.
# Thick strokes are left alone: thinning cannot reopen the holes (of a 0, 6, 8, 9) that a fat
# pen closed; on MNIST digits drawn with a fat pen, eroding them cost 1 to 15 points of accuracy.
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
    return from_ink(ink_image(image))


def from_ink(ink: np.ndarray) -> ModelInput:
    """The MNIST recipe from the ink on: crop, box, centre. /predict/number runs it on each digit's ink."""
    digit = fit_to_box(digit_crop(ink))
    field = centre_by_mass(digit)
    return ModelInput(field.reshape(-1), encode_preview(field))


class LocatedInk(NamedTuple):
    pixels: np.ndarray  # what ink_image returns
    left: int  # the crop's top-left corner in the work image (the input reduced by `factor`)
    top: int
    factor: int  # one work pixel is factor x factor input pixels


def ink_image(image: Image.Image) -> np.ndarray:
    """Ink as uint8 (bright ink on 0), cropped to where the image differs from its background.

    Works whatever the mode, polarity and transparency. Pillow does what it does in one C pass
    (decode, box reduction, colour to grey, compositing the cropped strokes); every test and
    measure (background, extrema, bounding box, the ink lookup) is NumPy on the one 8-bit
    grey array, and the lookup runs on the crop only.
    """
    return locate_ink(image).pixels


def locate_ink(image: Image.Image) -> LocatedInk:
    """ink_image, and where its crop lies in the input (to give boxes in the input's pixels)."""
    if image.mode.startswith("I") or image.mode == "F":
        image = high_bit_depth_to_grey(image)  # Pillow's reduce and convert do not take these
    factor = work_factor(image.size)
    image = reduce_to_work_size(image)
    if not has_alpha(image):
        grey = np.asarray(image if image.mode == "L" else image.convert("L"))
        return LocatedInk(*ink_from_pixels_at(grey, border_background(grey)), factor)
    if image.mode not in ("LA", "RGBA"):
        image = image.convert("LA" if image.mode == "La" else "RGBA")  # Pillow has no La -> RGBA
    alpha = transparency(image)
    if alpha is None:  # an alpha channel, but nothing transparent
        grey = np.asarray(image.convert("L"))
        return LocatedInk(*ink_from_pixels_at(grey, border_background(grey)), factor)
    flat, background, origin = flatten_alpha_at(image, alpha)
    return LocatedInk(*ink_from_pixels_at(np.asarray(flat), background, origin), factor)


def work_factor(size: tuple[int, int]) -> int:
    return max(1, -(-max(size) // WORK_SIZE))  # ceil


def transparency(image: Image.Image) -> Image.Image | None:
    """None when every pixel of the RGBA or LA image is fully opaque, else its alpha channel
    (image.getchannel("A")'s pixels).

    RGBA: Pillow's raw encoder packs the A band into bytes that NumPy reads for the minimum and
    the alpha image wraps without a copy (about 15 us instead of 31 for getchannel + np.asarray
    on the 280x280 canvas)."""
    if image.mode == "RGBA":
        raw = image.tobytes("raw", "A")
        if int(np.frombuffer(raw, np.uint8).min()) == 255:
            return None
        return Image.frombuffer("L", image.size, raw, "raw", "L", 0, 1)
    alpha = image.getchannel("A")
    return None if alpha_is_opaque(alpha) else alpha


def alpha_is_opaque(alpha: Image.Image) -> bool:
    """Every pixel fully opaque (NumPy's minimum: 4x quicker than Pillow's getextrema here)."""
    return int(np.asarray(alpha).min()) == 255


def reduce_to_work_size(image: Image.Image) -> Image.Image:
    """Box-reduce big inputs by a whole factor: fast (C, one pass) and mass-preserving."""
    factor = work_factor(image.size)
    if factor <= 1:
        return image
    if image.mode in ("P", "PA", "1"):
        image = image.convert("RGBA" if has_alpha(image) else "L")
    return image.reduce(factor)


def has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def high_bit_depth_to_grey(image: Image.Image) -> Image.Image:
    """16/32-bit greyscale (e.g. a 16-bit PNG) to 8 bits, scaled by the format's range, not clipped."""
    full = 65535.0 if image.mode.startswith("I") else 255.0
    values = np.asarray(image, dtype=np.float32) * (255.0 / full)
    return Image.fromarray(np.clip(values + 0.5, 0, 255).astype(np.uint8), "L")


def with_border_background(grey: Image.Image) -> tuple[Image.Image, int]:
    return grey, border_background(np.asarray(grey))


def border_background(grey: np.ndarray) -> int:
    """The background level: the median of the border ring.

    np.median's value (the mean of the two middle levels of an even count, truncated by int),
    from one np.partition: half the time of np.median's wrapper on the 280x280 canvas's ring."""
    ring = border_ring(grey)
    middle = ring.size // 2
    if ring.size % 2:
        return int(np.partition(ring, middle)[middle])
    low, high = np.partition(ring, (middle - 1, middle))[middle - 1 : middle + 1]
    return (int(low) + int(high)) // 2


def border_ring(pixels: np.ndarray) -> np.ndarray:
    """The pixels of a thin ring along the image's edges (2% of the shorter side, at least 1)."""
    h, w = pixels.shape
    ring = max(1, min(h, w) // 50)
    return np.concatenate(
        [pixels[:ring].ravel(), pixels[-ring:].ravel(), pixels[:, :ring].ravel(), pixels[:, -ring:].ravel()]
    )


def flatten_alpha(image: Image.Image, alpha: Image.Image) -> tuple[Image.Image, int]:
    """Composite onto a background; returns the flattened greyscale image and the background level."""
    return flatten_alpha_at(image, alpha)[:2]


def flatten_alpha_at(image: Image.Image, alpha: Image.Image) -> tuple[Image.Image, int, tuple[int, int]]:
    """flatten_alpha, and the flattened image's top-left corner in ``image``.

    Strokes on a transparent canvas (edges mostly transparent, most of the image transparent)
    go onto white if they are dark, onto black if they are light, cropped to their bounding box.
    Otherwise the visible part is paper with ink on it, and transparent bits (rounded corners,
    margins) take the paper's colour: the median of the visible pixels.
    """
    pixels = np.asarray(alpha)
    visible = np.count_nonzero(pixels)
    if visible == 0:
        return Image.new("L", (1, 1), 0), 0, (0, 0)  # fully transparent: nothing drawn
    edges = border_ring(pixels)
    strokes_only = visible < 0.5 * pixels.size and np.count_nonzero(edges >= 128) < 0.5 * edges.size
    origin = (0, 0)
    if strokes_only:
        box = alpha.getbbox()
        image, alpha = image.crop(box), alpha.crop(box)
        origin = box[:2]
    grey = image.convert("L")
    counts = grey.histogram(mask=alpha)  # grey levels of the pixels with any opacity
    if strokes_only:
        mean = sum(level * n for level, n in enumerate(counts)) / visible
        background = 255 if mean < 128 else 0
    else:
        background = median_of_histogram(counts)
    return Image.composite(grey, Image.new("L", grey.size, background), alpha), background, origin


def median_of_histogram(counts: list[int]) -> int:
    half = sum(counts) / 2
    running = 0
    for level, n in enumerate(counts):
        running += n
        if running >= half:
            return level
    return 255


def ink_from_grey(grey: Image.Image, background: int) -> np.ndarray:
    """ink_from_pixels of a greyscale Pillow image."""
    return ink_from_pixels(np.asarray(grey), background)


def ink_from_pixels(grey: np.ndarray, background: int) -> np.ndarray:
    """Distance from the background level on the ink's side, contrast-normalised, noise floor removed."""
    return ink_from_pixels_at(grey, background)[0]


def ink_from_pixels_at(grey: np.ndarray, background: int,
                       origin: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, int, int]:
    """ink_from_pixels, and the crop's top-left corner (``origin``: grey's own corner in the work image).

    Normalisation makes the strongest ink 1 whatever pen or scan produced it; the floor
    drops JPEG ringing, paper texture and smudges. One lookup table does all three, applied
    only inside the bounding box of everything that differs from the background.
    """
    dark_ink = background >= 128
    peak = background - int(grey.min()) if dark_ink else int(grey.max()) - background
    if peak < MIN_CONTRAST * 255:
        return np.zeros((0, 0), np.uint8), *origin
    differs = grey != background
    rows = np.flatnonzero(differs.any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    cols = np.flatnonzero(differs[top:bottom].any(axis=0))
    crop = grey[top:bottom, int(cols[0]):int(cols[-1]) + 1]
    if crop.dtype == np.uint8:
        ink = np.frombuffer(crop.tobytes().translate(ink_table(background, peak)), np.uint8).reshape(crop.shape)
    else:  # not 8-bit grey (no caller passes that today): the lookup by index
        ink = np.take(ink_lut(background, peak), crop)
    return ink, origin[0] + int(cols[0]), origin[1] + top


@functools.lru_cache(maxsize=1024)
def ink_lut(background: int, peak: int) -> np.ndarray:
    """Grey level -> ink (uint8): distance from the background on the ink's side, / peak, minus the floor."""
    levels = np.arange(256, dtype=np.float32)
    distance = (background - levels) if background >= 128 else (levels - background)
    lut = np.clip(((distance / peak - NOISE_FLOOR) / (1.0 - NOISE_FLOOR)) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    lut.flags.writeable = False
    return lut


@functools.lru_cache(maxsize=1024)
def ink_table(background: int, peak: int) -> bytes:
    """ink_lut as a bytes.translate table: the same lookup in one C pass over the crop's bytes,
    about 14 us instead of np.take's 24 on the canvas's crop (the result is read-only)."""
    return ink_lut(background, peak).tobytes()


def digit_crop(ink: np.ndarray) -> np.ndarray:
    """The ink cropped to the digit, small specks apart from it left out; EmptyImage if there is none."""
    columns = ink.sum(axis=0, dtype=np.int32)  # one pass over the ink; the totals come from profiles
    if int(columns.sum(dtype=np.int64)) < MIN_INK_PIXELS * 255:
        raise EmptyImage("the image has no ink: draw a digit first")
    left, right = main_span(columns)
    rows = ink[:, left:right].sum(axis=1, dtype=np.int32)
    top, bottom = main_span(rows)
    if (top, bottom) != (0, ink.shape[0]):  # rows were dropped: the columns' span may shrink
        columns = ink[top:bottom].sum(axis=0, dtype=np.int32)
    left2, right2 = main_span(columns)
    if (left2, right2) == (left, right):
        ink_total = int(rows[top:bottom].sum(dtype=np.int64))
    else:
        left, right = left2, right2
        ink_total = int(columns[left:right].sum(dtype=np.int64))
    crop = ink[top:bottom, left:right]
    if ink_total < MIN_INK_PIXELS * 255:
        raise EmptyImage("the image has almost no ink: draw a digit first")
    return crop


def main_span(profile: np.ndarray) -> tuple[int, int]:
    """[start, end) covering every run of nonzero profile that is not a speck."""
    inked = profile > 0
    if inked.all():
        return 0, len(profile)
    edges = np.flatnonzero(np.diff(inked.view(np.int8), prepend=0, append=0))
    starts, ends = edges[::2], edges[1::2]
    if len(starts) == 1:
        return int(starts[0]), int(ends[0])
    cumulative = np.concatenate(([0], np.cumsum(profile, dtype=np.int64)))
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
    mask = ink >= 128
    transitions = (  # inside, plus the edges of the crop (ink against the outside)
        np.count_nonzero(mask[:, 1:] != mask[:, :-1])
        + np.count_nonzero(mask[1:] != mask[:-1])
        + np.count_nonzero(mask[0]) + np.count_nonzero(mask[-1])
        + np.count_nonzero(mask[:, 0]) + np.count_nonzero(mask[:, -1])
    )
    if transitions == 0:
        return 0.0
    width = (8.0 / np.pi) * (int(ink.sum(dtype=np.int64)) / 255.0) / transitions
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
        digit *= 1.0 / peak  # MNIST strokes peak at full intensity
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


def resize(a: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Anti-aliased (Lanczos) resampling to (width, height) as float32; 8-bit input stays 8-bit inside."""
    if a.shape[::-1] == size:
        return a.astype(np.float32)
    mode = "L" if a.dtype == np.uint8 else "F"
    resized = Image.fromarray(a if mode == "L" else a.astype(np.float32, copy=False), mode)
    # reducing_gap: a whole-factor box reduction first, Lanczos for the last factor of 2 or less.
    return np.array(resized.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0), dtype=np.float32)


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
    """The field as an 8-bit greyscale PNG: the project's one PNG writer at zlib level 1 (the fastest)."""
    return encode_png(field, level=1)
