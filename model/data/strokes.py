"""Digits (and other things) drawn as pen strokes on a 280x280 pad, the way people write them.

A stroke is a list of points in pad units (0..1, y down). ``draw_strokes`` renders strokes on
the page's pad (white, ink #111418, round pen) with a random size, shift, slant and wobble;
the result goes through the same preprocessing as /predict (model.imaging.preprocess).

Two separate families of digit templates, so that what is measured is never what was learnt:

- ``HELD_OUT_DIGIT_STYLES``: fixed templates (``HELD_OUT_STYLES``, those of bench/drawn_styles.py:
  open 4, crossed 7, 1 with a flag or a base, curled 9..., and a round 0), drawn at pen widths 21, 12 and 6 px;
- ``training_strokes(digit, rng)``: templates written separately, every control point
  jittered per drawing, pen widths drawn from 4-26 px, sizes down to a quarter of the pad.

Everything is reproducible from a seed (``numpy.random.Generator``).
"""
from __future__ import annotations

import functools
import glob
import math
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIDE = 280
INK = 17  # the page's ink (#111418) as grey
PAPER = 255
HELD_OUT_PEN_WIDTHS = (21, 12, 6)

Stroke = list[tuple[float, float]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, points: int = 24) -> Stroke:
    """Points of an elliptic arc; angles in degrees, 0 = right, 90 = down (image coordinates)."""
    return [(cx + rx * math.cos(math.radians(start + (end - start) * i / points)),
             cy + ry * math.sin(math.radians(start + (end - start) * i / points))) for i in range(points + 1)]


# The held-out digit styles: the digit each one is, and its strokes.
HELD_OUT_STYLES: dict[str, tuple[int, list[Stroke]]] = {
    "0": (0, [arc(0.5, 0.5, 0.22, 0.33, -90, 275)]),
    "1": (1, [[(0.5, 0.15), (0.5, 0.85)]]),
    "1 with a short flag": (1, [[(0.44, 0.22), (0.52, 0.15), (0.52, 0.85)]]),
    "1 with a long flag": (1, [[(0.38, 0.28), (0.52, 0.15), (0.52, 0.85)]]),
    "1 with flag and base": (1, [[(0.38, 0.28), (0.52, 0.15), (0.52, 0.85)], [(0.38, 0.85), (0.66, 0.85)]]),
    "2": (2, [[*arc(0.5, 0.33, 0.2, 0.18, 200, 360), (0.68, 0.4), (0.3, 0.85), (0.72, 0.85)]]),
    "3": (3, [[*arc(0.48, 0.31, 0.19, 0.16, 200, 450), *arc(0.48, 0.66, 0.21, 0.19, 270, 520)]]),
    "4 closed": (4, [[(0.62, 0.85), (0.62, 0.15), (0.28, 0.62), (0.75, 0.62)]]),
    "4 open": (4, [[(0.32, 0.15), (0.3, 0.55), (0.72, 0.55)], [(0.62, 0.3), (0.62, 0.86)]]),
    "5": (5, [[(0.68, 0.16), (0.36, 0.16), (0.33, 0.45), *arc(0.48, 0.63, 0.2, 0.2, 250, 500)]]),
    "6": (6, [[(0.62, 0.14), *arc(0.5, 0.65, 0.2, 0.2, 200, 560)]]),
    "7": (7, [[(0.28, 0.18), (0.72, 0.18), (0.42, 0.86)]]),
    "7 crossed": (7, [[(0.28, 0.18), (0.72, 0.18), (0.42, 0.86)], [(0.38, 0.52), (0.66, 0.52)]]),
    "8": (8, [[*arc(0.5, 0.3, 0.16, 0.15, 90, 450), *arc(0.5, 0.66, 0.2, 0.19, -90, 270)]]),
    "9": (9, [[*arc(0.5, 0.33, 0.19, 0.17, 0, 360), (0.69, 0.33), (0.62, 0.86)]]),
    "9 curled": (9, [[*arc(0.5, 0.33, 0.19, 0.17, 0, 360), (0.69, 0.33), (0.66, 0.7),
                      *arc(0.5, 0.72, 0.16, 0.13, 0, 150)]]),
}


# Held out for the honesty figures (model.data.honest) but not among bench/drawn_styles.py's styles, so
# that the number drawings of bench/drawn_numbers.py (drawn from those) stay as they were measured.
HELD_OUT_EXTRA_STYLES: dict[str, tuple[int, list[Stroke]]] = {
    "0 round": (0, [arc(0.5, 0.5, 0.31, 0.32, -80, 285)]),  # a ring: issue 12's follow-up
}
# Every held-out digit style, in the order held_out_digits draws them ("0 round" right after "0").
HELD_OUT_DIGIT_STYLES: dict[str, tuple[int, list[Stroke]]] = {
    "0": HELD_OUT_STYLES["0"], **HELD_OUT_EXTRA_STYLES, **{k: v for k, v in HELD_OUT_STYLES.items() if k != "0"}}


def draw_strokes(strokes: list[Stroke], width: float, rng: np.random.Generator,
                 scale: tuple[float, float] = (0.6, 1.0), slant_sigma: float = 0.12) -> Image.Image:
    """The strokes on a white pad (greyscale), randomly sized, shifted, slanted and wobbled, round pen ends."""
    size = rng.uniform(*scale)
    room = max(0.0, (1.0 - size) / 2)
    dx, dy = rng.uniform(-min(0.1, room), min(0.1, room), 2) if room else (0.0, 0.0)
    angle = rng.normal(0.0, slant_sigma)
    cos, sin = math.cos(angle), math.sin(angle)
    image = Image.new("L", (SIDE, SIDE), PAPER)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        points = []
        for x, y in stroke:
            x, y = x - 0.5, y - 0.5
            x, y = (x * cos - y * sin) * size + 0.5 + dx, (x * sin + y * cos) * size + 0.5 + dy
            points.append((SIDE * (x + rng.normal(0, 0.006)), SIDE * (y + rng.normal(0, 0.006))))
        pen = max(1, int(round(width)))
        if len(points) > 1:
            draw.line(points, fill=INK, width=pen, joint="curve")
        for px, py in (points[0], points[-1]):
            draw.ellipse((px - pen / 2, py - pen / 2, px + pen / 2, py + pen / 2), fill=INK)
    return image


# -- the training family: templates with every control point jittered -------------------------


def _j(rng: np.random.Generator, v: float, s: float = 0.03) -> float:
    return float(v + rng.normal(0, s))


def _t1(rng: np.random.Generator) -> list[Stroke]:
    top, bottom, x = _j(rng, 0.14), _j(rng, 0.86), _j(rng, 0.52, 0.02)
    kind = rng.integers(4)
    stem = [(x, top), (x + rng.normal(0, 0.03), bottom)]
    if kind == 0:
        return [stem]
    flag = [(x - rng.uniform(0.06, 0.2), top + rng.uniform(0.04, 0.16)), (x, top)]
    strokes = [[*flag, stem[1]]]
    if kind == 3:
        w = rng.uniform(0.1, 0.18)
        strokes.append([(x - w, bottom), (x + w, bottom)])
    return strokes


def _t2(rng: np.random.Generator) -> list[Stroke]:
    cy, r = _j(rng, 0.33), rng.uniform(0.15, 0.22)
    base = _j(rng, 0.84)
    if rng.random() < 0.3:  # a 2 with a loop at the foot
        return [[*arc(0.5, cy, r, r * 0.9, 190, 370), (0.34, base - 0.06), *arc(0.3, base - 0.04, 0.04, 0.04, 0, 300),
                 (_j(rng, 0.74), base)]]
    return [[*arc(0.5, cy, r, r * 0.9, rng.uniform(170, 210), 370), (_j(rng, 0.3), base), (_j(rng, 0.74), base)]]


def _t3(rng: np.random.Generator) -> list[Stroke]:
    if rng.random() < 0.3:  # flat-topped 3
        return [[(0.3, 0.15), (0.7, 0.15), (0.46, 0.45), *arc(0.48, 0.65, 0.21, 0.2, 270, 520)]]
    r1, r2 = rng.uniform(0.14, 0.2), rng.uniform(0.17, 0.23)
    return [[*arc(0.48, _j(rng, 0.31), r1, r1 * 0.9, rng.uniform(180, 220), 450),
             *arc(0.48, _j(rng, 0.66), r2, r2 * 0.95, 270, rng.uniform(500, 540))]]


def _t4(rng: np.random.Generator) -> list[Stroke]:
    bar, x = _j(rng, 0.6), _j(rng, 0.62)
    if rng.random() < 0.5:  # closed
        return [[(x, _j(rng, 0.86)), (x, _j(rng, 0.14)), (_j(rng, 0.26), bar), (_j(rng, 0.78), bar)]]
    left = _j(rng, 0.3)
    return [[(left + rng.normal(0, 0.04), _j(rng, 0.15)), (left, bar), (_j(rng, 0.76), bar)],
            [(x, _j(rng, 0.2)), (x + rng.normal(0, 0.03), _j(rng, 0.86))]]


def _t5(rng: np.random.Generator) -> list[Stroke]:
    top = _j(rng, 0.16)
    body = [(_j(rng, 0.36), top), (_j(rng, 0.33), _j(rng, 0.45)), *arc(0.48, _j(rng, 0.64), 0.2, 0.2, 250, rng.uniform(480, 520))]
    if rng.random() < 0.5:  # the bar drawn last, as a separate stroke
        return [body, [(_j(rng, 0.36), top), (_j(rng, 0.7), top)]]
    return [[(_j(rng, 0.7), top), *body]]


def _t6(rng: np.random.Generator) -> list[Stroke]:
    r = rng.uniform(0.16, 0.22)
    cy = _j(rng, 0.64)
    return [[(_j(rng, 0.64, 0.05), _j(rng, 0.14)), *arc(0.5, cy, r, r, rng.uniform(180, 215), 560)]]


def _t7(rng: np.random.Generator) -> list[Stroke]:
    top, left, right = _j(rng, 0.17), _j(rng, 0.28), _j(rng, 0.73)
    foot = (_j(rng, 0.44, 0.06), _j(rng, 0.86))
    stem = [(left, top + rng.uniform(0, 0.06)), (right, top), foot]
    kind = rng.integers(3)
    if kind == 0:
        return [stem]
    if kind == 1:  # European: a bar across the stem
        y = rng.uniform(0.45, 0.58)
        t = (y - top) / (foot[1] - top)
        cx = right + t * (foot[0] - right)
        return [stem, [(cx - rng.uniform(0.1, 0.18), y), (cx + rng.uniform(0.08, 0.16), y)]]
    return [[(left, top + 0.08), (left, top), (right, top), foot]]  # with a serif on the left


def _t8(rng: np.random.Generator) -> list[Stroke]:
    r1, r2 = rng.uniform(0.12, 0.17), rng.uniform(0.16, 0.21)
    if rng.random() < 0.5:
        return [[*arc(0.5, _j(rng, 0.3), r1, r1, 90, 450), *arc(0.5, _j(rng, 0.66), r2, r2, -90, 270)]]
    return [arc(0.5, _j(rng, 0.3), r1, r1, 0, 360), arc(0.5, _j(rng, 0.67), r2, r2, 0, 360)]  # two circles


def _t9(rng: np.random.Generator) -> list[Stroke]:
    r = rng.uniform(0.15, 0.2)
    cy = _j(rng, 0.33)
    tail = [(0.5 + r, cy), (_j(rng, 0.64, 0.05), _j(rng, 0.86))]
    if rng.random() < 0.3:
        tail = [(0.5 + r, cy), (_j(rng, 0.66), 0.7), *arc(0.5, 0.72, 0.16, 0.13, 0, 150)]
    return [[*arc(0.5, cy, r, r * 0.9, 0, 360), *tail]]


def _t0(rng: np.random.Generator) -> list[Stroke]:
    start = rng.uniform(-120, -60)
    if rng.random() < 0.5:  # a round or wide 0 (aspect 0.75-1.15): people draw rings too (issue 12 follow-up)
        ry = rng.uniform(0.22, 0.36)
        rx = ry * rng.uniform(0.75, 1.15)
    else:
        rx, ry = rng.uniform(0.16, 0.26), rng.uniform(0.28, 0.36)
    return [arc(0.5, 0.5, rx, ry, start, start + rng.uniform(350, 385))]


TRAINING_TEMPLATES: dict[int, Callable[[np.random.Generator], list[Stroke]]] = {
    0: _t0, 1: _t1, 2: _t2, 3: _t3, 4: _t4, 5: _t5, 6: _t6, 7: _t7, 8: _t8, 9: _t9,
}


def training_strokes(digit: int, rng: np.random.Generator) -> list[Stroke]:
    """A fresh random variant of ``digit`` from the training family."""
    return TRAINING_TEMPLATES[digit](rng)


def training_digit(digit: int, rng: np.random.Generator) -> Image.Image:
    """One training drawing: random template variant, pen 4-26 px, size 25-100% of the pad, slant up to ~15 deg."""
    return draw_strokes(training_strokes(digit, rng), rng.uniform(4, 26), rng,
                        scale=(0.25, 1.0) if rng.random() < 0.25 else (0.55, 1.0), slant_sigma=0.15)


def held_out_digits(seed: int, per_style: int = 10) -> list[tuple[str, int, Image.Image]]:
    """(style, digit, drawing): every held-out style x pen width x per_style drawings."""
    rng = np.random.default_rng(seed)
    return [(name, digit, draw_strokes(strokes, width, rng))
            for name, (digit, strokes) in HELD_OUT_DIGIT_STYLES.items()
            for width in HELD_OUT_PEN_WIDTHS for _ in range(per_style)]


# -- fonts ---------------------------------------------------------------------------------------


def machine_fonts(family: str = "") -> list[str]:
    """Latin TrueType fonts of the machine whose path contains ``family`` (maths fonts left out).

    On Debian: DejaVu (the training family) and Liberation (the held-out family).
    """
    return sorted(p for p in glob.glob("/usr/share/fonts/truetype/*/*.ttf")
                  if "Math" not in p and family.lower() in p.lower())


@functools.lru_cache(maxsize=256)
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def typed(text: str, font_path: str, size: int = 180, rotate: float = 0.0,
          offset: tuple[float, float] = (0.0, 0.0)) -> Image.Image:
    """``text`` typed in a font, centred on the pad (dark ink on white), optionally rotated and shifted."""
    image = Image.new("L", (SIDE, SIDE), PAPER)
    ImageDraw.Draw(image).text((SIDE / 2 + offset[0], SIDE / 2 + offset[1]), text, font=font(font_path, size),
                               fill=INK, anchor="mm")
    if rotate:
        image = image.rotate(rotate, resample=Image.Resampling.BILINEAR, fillcolor=PAPER)
    return image
