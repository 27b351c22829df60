"""Drawings that are not digits, made by the project from a seed (never downloaded).

Kinds (what the verdict must call ``not_a_digit``), each split into FAMILIES: the training
families and the held-out families are disjoint (tests/model/test_honest_data.py asserts
it), so the held-out rates measure generalisation to kinds of drawing never trained on:

- letters:  letters drawn as pen strokes, and typed in the machine's fonts
            (training: DejaVu; held-out: Liberation);
- symbols:  # % & @ $ ? * + = < > ... typed and drawn;
- words:    two to four letters side by side;
- shapes:   polygons, stars, arrows, hearts, spirals, crosses, ticks;
- scribbles: random smooth curves, zigzags, loops, hatching;
- dots_lines: dots, dashes, lines across the pad, dotted rows;
- mangled:  MNIST digits overlapped, shuffled in tiles (training uses MNIST training
            images, the held-out set MNIST test images).

Left out on purpose, because they ARE digits or look exactly like one to a reader: a plain
circle or ellipse (a 0), a bare upright bar (a 1), and the letters and symbols that double as
digits (O o Q D I l i j J | / \\ ( ) [ ] { } S s Z z B b G g q T t).
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np
from PIL import Image

from model.data.strokes import PAPER, SIDE, Stroke, arc, draw_strokes, machine_fonts, typed

LETTERS = "ACEFHKLMNPRUVWXYacdefhkmnprtuvwxy"
SYMBOLS = "#%&@$?*+=<>~^€÷×±√∞πΩ♥★✓"
TRAIN_FONT_FAMILY, HELD_OUT_FONT_FAMILY = "dejavu", "liberation"
KINDS = ("letters", "symbols", "words", "shapes", "scribbles", "dots_lines", "mangled")

Maker = Callable[[np.random.Generator], Image.Image]


def _pen(rng: np.random.Generator) -> float:
    return float(rng.uniform(5, 24))


def _draw(strokes: list[Stroke], rng: np.random.Generator) -> Image.Image:
    return draw_strokes(strokes, _pen(rng), rng, scale=(0.4, 1.0), slant_sigma=0.1)


# -- letters and symbols as strokes -----------------------------------------------------------------
STROKE_LETTERS: dict[str, list[Stroke]] = {
    "A": [[(0.25, 0.85), (0.5, 0.15), (0.75, 0.85)], [(0.35, 0.6), (0.65, 0.6)]],
    "E": [[(0.7, 0.15), (0.3, 0.15), (0.3, 0.85), (0.7, 0.85)], [(0.3, 0.5), (0.62, 0.5)]],
    "F": [[(0.7, 0.15), (0.32, 0.15), (0.32, 0.85)], [(0.32, 0.5), (0.62, 0.5)]],
    "H": [[(0.28, 0.15), (0.28, 0.85)], [(0.72, 0.15), (0.72, 0.85)], [(0.28, 0.5), (0.72, 0.5)]],
    "K": [[(0.3, 0.15), (0.3, 0.85)], [(0.7, 0.15), (0.3, 0.55)], [(0.42, 0.45), (0.72, 0.85)]],
    "M": [[(0.22, 0.85), (0.25, 0.15), (0.5, 0.6), (0.75, 0.15), (0.78, 0.85)]],
    "N": [[(0.28, 0.85), (0.28, 0.15), (0.72, 0.85), (0.72, 0.15)]],
    "W": [[(0.15, 0.15), (0.32, 0.85), (0.5, 0.4), (0.68, 0.85), (0.85, 0.15)]],
    "X": [[(0.25, 0.15), (0.75, 0.85)], [(0.75, 0.15), (0.25, 0.85)]],
    "Y": [[(0.25, 0.15), (0.5, 0.5), (0.75, 0.15)], [(0.5, 0.5), (0.5, 0.85)]],
    "V": [[(0.25, 0.15), (0.5, 0.85), (0.75, 0.15)]],
    "R": [[(0.3, 0.85), (0.3, 0.15), *arc(0.45, 0.32, 0.2, 0.17, -90, 90), (0.3, 0.49), (0.7, 0.85)]],
    "P": [[(0.3, 0.85), (0.3, 0.15), *arc(0.45, 0.32, 0.2, 0.17, -90, 90), (0.3, 0.49)]],
    "C": [arc(0.52, 0.5, 0.24, 0.34, 40, 320)],
    "U": [[(0.28, 0.15), *arc(0.5, 0.6, 0.22, 0.25, 180, 0, 16), (0.72, 0.15)]],
    "L": [[(0.32, 0.15), (0.32, 0.85), (0.72, 0.85)]],
    "e": [[(0.28, 0.55), (0.72, 0.55), *arc(0.5, 0.55, 0.22, 0.22, 0, -300)]],
    "h": [[(0.3, 0.15), (0.3, 0.85)], [(0.3, 0.55), *arc(0.5, 0.6, 0.2, 0.15, 180, 360), (0.7, 0.85)]],
    "m": [[(0.2, 0.85), (0.2, 0.45), *arc(0.35, 0.55, 0.15, 0.12, 180, 360), (0.5, 0.85)],
          [(0.5, 0.55), *arc(0.65, 0.55, 0.15, 0.12, 180, 360), (0.8, 0.85)]],
    "n": [[(0.3, 0.85), (0.3, 0.45), *arc(0.5, 0.58, 0.2, 0.15, 180, 360), (0.7, 0.85)]],
    "r": [[(0.35, 0.85), (0.35, 0.4)], [(0.35, 0.55), *arc(0.55, 0.55, 0.2, 0.12, 180, 300)]],
    "w": [[(0.15, 0.4), (0.32, 0.85), (0.5, 0.5), (0.68, 0.85), (0.85, 0.4)]],
    "x": [[(0.3, 0.4), (0.7, 0.85)], [(0.7, 0.4), (0.3, 0.85)]],
    "k": [[(0.32, 0.15), (0.32, 0.85)], [(0.68, 0.4), (0.32, 0.65), (0.7, 0.85)]],
}
STROKE_SYMBOLS: dict[str, list[Stroke]] = {
    "#": [[(0.4, 0.15), (0.35, 0.85)], [(0.65, 0.15), (0.6, 0.85)], [(0.2, 0.38), (0.8, 0.38)],
          [(0.2, 0.62), (0.8, 0.62)]],
    "+": [[(0.5, 0.2), (0.5, 0.8)], [(0.2, 0.5), (0.8, 0.5)]],
    "=": [[(0.2, 0.4), (0.8, 0.4)], [(0.2, 0.6), (0.8, 0.6)]],
    "%": [arc(0.3, 0.27, 0.1, 0.1, 0, 360), [(0.75, 0.15), (0.25, 0.85)], arc(0.7, 0.73, 0.1, 0.1, 0, 360)],
    "*": [[(0.5, 0.2), (0.5, 0.8)], [(0.24, 0.35), (0.76, 0.65)], [(0.76, 0.35), (0.24, 0.65)]],
    "?": [[*arc(0.5, 0.3, 0.18, 0.15, 180, 400), (0.5, 0.6)], [(0.5, 0.8), (0.5, 0.82)]],
    "<": [[(0.75, 0.2), (0.25, 0.5), (0.75, 0.8)]],
    ">": [[(0.25, 0.2), (0.75, 0.5), (0.25, 0.8)]],
    "&": [[(0.75, 0.85), (0.35, 0.4), *arc(0.45, 0.28, 0.12, 0.12, 150, 390), (0.3, 0.62),
           *arc(0.42, 0.7, 0.14, 0.14, 180, 330), (0.72, 0.5)]],
    "@": [[*arc(0.5, 0.5, 0.12, 0.12, 0, 360), (0.62, 0.62), *arc(0.5, 0.5, 0.3, 0.3, 40, 330)]],
    "$": [[*arc(0.5, 0.36, 0.18, 0.14, -30, -270), *arc(0.5, 0.64, 0.18, 0.14, -90, 150)], [(0.5, 0.1), (0.5, 0.9)]],
    "✓": [[(0.2, 0.55), (0.42, 0.8), (0.82, 0.2)]],
    "~": [[*arc(0.35, 0.5, 0.15, 0.1, 180, 360), *arc(0.65, 0.5, 0.15, 0.1, 180, 0)]],
}
# Which stroke-drawn letters and symbols each side sees (disjoint).
TRAIN_STROKE_LETTERS = "AEHKMWXRehmr"
HELD_OUT_STROKE_LETTERS = "FNYVPCULnwxk"
TRAIN_STROKE_SYMBOLS = "#+%*<&$"
HELD_OUT_STROKE_SYMBOLS = "=?>@✓~"


def _jitter(strokes: list[Stroke], rng: np.random.Generator, s: float = 0.025) -> list[Stroke]:
    return [[(x + rng.normal(0, s), y + rng.normal(0, s)) for x, y in stroke] for stroke in strokes]


def _typed_char(chars: str, family: str) -> Maker:
    fonts = machine_fonts(family)

    def make(rng: np.random.Generator) -> Image.Image:
        text = chars[int(rng.integers(len(chars)))]
        path = fonts[int(rng.integers(len(fonts)))]
        return typed(text, path, int(rng.integers(80, 200)), float(rng.normal(0, 8)),
                     (float(rng.normal(0, 15)), float(rng.normal(0, 15))))
    return make


def _stroked_char(table: dict[str, list[Stroke]], chars: str) -> Maker:
    def make(rng: np.random.Generator) -> Image.Image:
        return _draw(_jitter(table[chars[int(rng.integers(len(chars)))]], rng), rng)
    return make


def _typed_word(family: str) -> Maker:
    fonts = machine_fonts(family)

    def make(rng: np.random.Generator) -> Image.Image:
        word = "".join(LETTERS[int(i)] for i in rng.integers(len(LETTERS), size=int(rng.integers(2, 5))))
        return typed(word, fonts[int(rng.integers(len(fonts)))], int(rng.integers(50, 110)), float(rng.normal(0, 5)))
    return make


def _stroked_word(chars: str) -> Maker:
    def make(rng: np.random.Generator) -> Image.Image:
        n = int(rng.integers(2, 4))
        strokes: list[Stroke] = []
        for i in range(n):
            letter = _jitter(STROKE_LETTERS[chars[int(rng.integers(len(chars)))]], rng)
            strokes += [[((x + i) / n, 0.5 + (y - 0.5) / n) for x, y in s] for s in letter]
        return draw_strokes(strokes, rng.uniform(4, 14), rng, scale=(0.8, 1.0), slant_sigma=0.08)
    return make


# -- shapes -----------------------------------------------------------------------------------------------


def _polygon(n: int, rng: np.random.Generator, start: float | None = None, squash: float = 1.0) -> list[Stroke]:
    a0 = rng.uniform(0, 360) if start is None else start + rng.normal(0, 8)
    r = rng.uniform(0.25, 0.35)
    pts = [(0.5 + r * math.cos(math.radians(a0 + 360 * i / n)),
            0.5 + squash * r * math.sin(math.radians(a0 + 360 * i / n))) for i in range(n + 1)]
    return [_jitter([pts], rng, 0.015)[0]]


def _star(rng: np.random.Generator, points: int = 5) -> list[Stroke]:
    a0 = -90 + rng.normal(0, 10)
    r = rng.uniform(0.28, 0.36)
    order = [(i * 2) % points for i in range(points + 1)]
    return [[(0.5 + r * math.cos(math.radians(a0 + 360 * k / points)),
              0.5 + r * math.sin(math.radians(a0 + 360 * k / points))) for k in order]]


def _random_polygon(rng: np.random.Generator) -> list[Stroke]:
    """3-8 corners, any rotation, squashed, corners pulled in or out: every polygon a hand draws."""
    n = int(rng.integers(3, 9))
    a0, squash = rng.uniform(0, 360), rng.uniform(0.6, 1.5)
    radii = rng.uniform(0.22, 0.36) * rng.uniform(0.75, 1.25, n)
    angles = a0 + 360 * (np.arange(n) + rng.uniform(-0.2, 0.2, n)) / n
    pts = [(0.5 + r * math.cos(math.radians(a)), 0.5 + squash * r * math.sin(math.radians(a)))
           for r, a in zip(radii, angles)]
    return [[*pts, pts[0]]]


def _polyline(rng: np.random.Generator) -> list[Stroke]:
    """A straight-edged scribble: 6-10 random corners, more turns than any digit has."""
    return [[tuple(v) for v in rng.uniform(0.15, 0.85, (int(rng.integers(6, 11)), 2))]]


def _spiral(rng: np.random.Generator) -> list[Stroke]:
    turns = rng.uniform(1.8, 3.2)
    a0 = rng.uniform(0, 360)
    return [[(0.5 + 0.35 * t / 100 * math.cos(math.radians(a0 + 360 * turns * t / 100)),
              0.5 + 0.35 * t / 100 * math.sin(math.radians(a0 + 360 * turns * t / 100))) for t in range(4, 101)]]


def _arrow(rng: np.random.Generator) -> list[Stroke]:
    a = math.radians(rng.choice([0, 90, 180, 270]) + rng.normal(0, 15))
    c, s = math.cos(a), math.sin(a)

    def p(x: float, y: float) -> tuple[float, float]:
        return 0.5 + x * c - y * s, 0.5 + x * s + y * c
    return [[p(-0.35, 0), p(0.35, 0)], [p(0.15, -0.18), p(0.35, 0), p(0.15, 0.18)]]


def _heart(rng: np.random.Generator) -> list[Stroke]:
    pts = []
    for i in range(41):
        t = 2 * math.pi * i / 40
        x = 16 * math.sin(t) ** 3
        y = -(13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t))
        pts.append((0.5 + x / 45, 0.48 + y / 45))
    return _jitter([pts], rng, 0.01)


def _house(rng: np.random.Generator) -> list[Stroke]:
    return _jitter([[(0.25, 0.85), (0.25, 0.45), (0.5, 0.18), (0.75, 0.45), (0.75, 0.85), (0.25, 0.85)],
                    [(0.25, 0.45), (0.75, 0.45)]], rng)


def _smiley(rng: np.random.Generator) -> list[Stroke]:
    return [arc(0.5, 0.5, 0.33, 0.33, 0, 360), [(0.4, 0.38), (0.4, 0.42)], [(0.6, 0.38), (0.6, 0.42)],
            arc(0.5, 0.55, 0.17, 0.12, 20, 160)]


def _moon(rng: np.random.Generator) -> list[Stroke]:
    return [[*arc(0.5, 0.5, 0.32, 0.32, 60, 300), *arc(0.62, 0.5, 0.22, 0.3, 240, 120, 16)]]


def _circle_cross(rng: np.random.Generator) -> list[Stroke]:
    return [arc(0.5, 0.5, 0.3, 0.3, 0, 360), [(0.5, 0.15), (0.5, 0.85)], [(0.15, 0.5), (0.85, 0.5)]]


def _concentric(rng: np.random.Generator) -> list[Stroke]:
    return [arc(0.5, 0.5, 0.33, 0.33, 0, 360), arc(0.5, 0.5, 0.15, 0.15, 0, 360)]


def _lightning(rng: np.random.Generator) -> list[Stroke]:
    return _jitter([[(0.6, 0.12), (0.35, 0.5), (0.6, 0.5), (0.38, 0.88)]], rng)


def _cloud(rng: np.random.Generator) -> list[Stroke]:
    return [[*arc(0.3, 0.6, 0.14, 0.14, 90, 270), *arc(0.45, 0.42, 0.16, 0.16, 180, 330),
             *arc(0.66, 0.5, 0.16, 0.16, 240, 450), (0.3, 0.74)]]


def _shape(fn: Callable[[np.random.Generator], list[Stroke]]) -> Maker:
    return lambda rng: _draw(fn(rng), rng)


# -- scribbles ------------------------------------------------------------------------------------------


def _smooth(points: list[tuple[float, float]], per: int = 8) -> Stroke:
    """Catmull-Rom through the points: a hand-like smooth curve."""
    p = [points[0], *points, points[-1]]
    out = []
    for i in range(1, len(p) - 2):
        for k in range(per):
            t = k / per
            out.append(tuple(0.5 * ((2 * p[i][d]) + (-p[i - 1][d] + p[i + 1][d]) * t
                                    + (2 * p[i - 1][d] - 5 * p[i][d] + 4 * p[i + 1][d] - p[i + 2][d]) * t * t
                                    + (-p[i - 1][d] + 3 * p[i][d] - 3 * p[i + 1][d] + p[i + 2][d]) * t ** 3)
                             for d in (0, 1)))
    return out + [points[-1]]  # type: ignore[list-item]


def _random_curve(rng: np.random.Generator) -> list[Stroke]:
    return [_smooth([tuple(v) for v in rng.uniform(0.15, 0.85, (int(rng.integers(6, 12)), 2))])]


def _zigzag(rng: np.random.Generator) -> list[Stroke]:
    n = int(rng.integers(4, 9))
    return [[(0.15 + 0.7 * i / n, 0.3 if i % 2 else 0.7) for i in range(n + 1)]]


def _loops(rng: np.random.Generator) -> list[Stroke]:
    n = rng.uniform(3, 6)
    return [[(0.15 + 0.7 * t / 200 + 0.07 * math.cos(2 * math.pi * n * t / 200),
              0.5 - 0.15 * math.sin(2 * math.pi * n * t / 200)) for t in range(201)]]


def _hatching(rng: np.random.Generator) -> list[Stroke]:
    n = int(rng.integers(4, 8))
    slope = rng.uniform(-0.3, 0.3)
    return [[(0.2, 0.2 + 0.6 * i / n), (0.8, 0.2 + 0.6 * i / n + slope)] for i in range(n)]


def _knot(rng: np.random.Generator) -> list[Stroke]:
    a, b = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    phase = rng.uniform(0, math.pi)
    return [[(0.5 + 0.33 * math.sin(a * 2 * math.pi * t / 200 + phase), 0.5 + 0.33 * math.sin(b * 2 * math.pi * t / 200))
             for t in range(201)]]


def _wave(rng: np.random.Generator) -> list[Stroke]:
    n = rng.uniform(1.5, 4)
    return [[(0.1 + 0.8 * t / 100, 0.5 + 0.2 * math.sin(2 * math.pi * n * t / 100)) for t in range(101)]]


# -- dots and lines -------------------------------------------------------------------------------------


def _dot(rng: np.random.Generator) -> Image.Image:
    x, y = rng.uniform(0.2, 0.8, 2)
    return draw_strokes([[(x, y)]], rng.uniform(8, 30), rng, scale=(0.9, 1.0))


def _dots(rng: np.random.Generator) -> Image.Image:
    n = int(rng.integers(2, 5))
    y = rng.uniform(0.3, 0.7)
    return draw_strokes([[(0.2 + 0.6 * i / (n - 1), y + rng.normal(0, 0.02))] for i in range(n)],
                        rng.uniform(10, 26), rng, scale=(0.8, 1.0))


def _line_across(rng: np.random.Generator) -> Image.Image:
    a = rng.uniform(-45, 45)  # within 45 degrees of horizontal
    c, s = math.cos(math.radians(a)), math.sin(math.radians(a))
    half = rng.uniform(0.2, 0.48)
    return draw_strokes([[(0.5 - half * c, 0.5 - half * s), (0.5 + half * c, 0.5 + half * s)]],
                        rng.uniform(5, 24), rng, scale=(0.95, 1.0), slant_sigma=0.02)


def _dash(rng: np.random.Generator) -> Image.Image:
    half = rng.uniform(0.04, 0.12)
    return draw_strokes([[(0.5 - half, 0.5), (0.5 + half, 0.5 + rng.normal(0, 0.01))]], rng.uniform(12, 26), rng)


def _wavy_line(rng: np.random.Generator) -> Image.Image:
    tilt, bend = rng.uniform(-0.25, 0.25), rng.uniform(-0.08, 0.08)
    return draw_strokes([[(0.05 + 0.9 * t / 20, 0.5 + tilt * (t / 20 - 0.5) + bend * math.sin(math.pi * t / 20))
                          for t in range(21)]], rng.uniform(5, 20), rng, scale=(0.95, 1.0), slant_sigma=0.02)


def _blot(rng: np.random.Generator) -> Image.Image:  # a dot scribbled in: a small filled blob
    cx, cy = rng.uniform(0.3, 0.7, 2)
    r = rng.uniform(0.02, 0.06)
    pts = [(cx + r * math.cos(t) * rng.uniform(0.6, 1.0), cy + r * math.sin(t) * rng.uniform(0.6, 1.0))
           for t in np.linspace(0, 6 * math.pi, 30)]
    return draw_strokes([pts], rng.uniform(10, 22), rng, scale=(0.9, 1.0))


def _corner(rng: np.random.Generator) -> Image.Image:  # an L or V lying down: two lines meeting
    return _draw([[(0.2, 0.4), (0.5, 0.7), (0.85, 0.55)]], rng)


# -- MNIST beyond recognition ------------------------------------------------------------------------


def _halves(digits: np.ndarray) -> Maker:
    """The top of one digit on the bottom of another, each turned on its side."""
    def make(rng: np.random.Generator) -> Image.Image:
        a, b = digits[rng.integers(len(digits), size=2)]
        out = np.concatenate([np.rot90(a, 1)[:14], np.rot90(b, -1)[14:]])
        return _to_pad(out, rng)
    return make


def _to_pad(field: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A 28x28 white-on-black field scaled up onto the pad as dark ink on white."""
    size = int(rng.integers(140, SIDE + 1))
    big = Image.fromarray(255 - field.astype(np.uint8), "L").resize((size, size), Image.Resampling.BILINEAR)
    pad = Image.new("L", (SIDE, SIDE), PAPER)
    x, y = (int(v) for v in rng.integers(0, SIDE - size + 1, 2))
    pad.paste(big, (x, y))
    return pad


def _overlap(digits: np.ndarray, count: int) -> Maker:
    def make(rng: np.random.Generator) -> Image.Image:
        picks = digits[rng.integers(len(digits), size=count)].astype(np.float32)
        out = np.zeros((28, 28), np.float32)
        for d in picks:
            out = np.maximum(out, np.roll(d, tuple(rng.integers(-5, 6, 2)), axis=(0, 1)))
        return _to_pad(out, rng)
    return make


def _tiles(digits: np.ndarray, grid: int) -> Maker:
    def make(rng: np.random.Generator) -> Image.Image:
        d = digits[int(rng.integers(len(digits)))]
        step = 28 // grid
        tiles = [d[r * step:(r + 1) * step, c * step:(c + 1) * step] for r in range(grid) for c in range(grid)]
        order = rng.permutation(len(tiles))
        out = np.zeros((28, 28), np.uint8)
        for k, i in enumerate(order):
            r, c = divmod(k, grid)
            out[r * step:(r + 1) * step, c * step:(c + 1) * step] = np.rot90(tiles[i], int(rng.integers(4)))
        return _to_pad(out, rng)
    return make


# -- the two sides ---------------------------------------------------------------------------------


def _written(font_family: str, stroke_letters: str, stroke_symbols: str) -> dict[str, dict[str, Maker]]:
    """The letters, symbols and words of one side: typed in its font family, drawn from its strokes."""
    typed_name, fam = f"typed {font_family}", font_family.lower()
    return {
        "letters": {typed_name: _typed_char(LETTERS, fam),
                    "stroked " + stroke_letters: _stroked_char(STROKE_LETTERS, stroke_letters)},
        "symbols": {typed_name: _typed_char(SYMBOLS, fam),
                    "stroked " + stroke_symbols: _stroked_char(STROKE_SYMBOLS, stroke_symbols)},
        "words": {typed_name: _typed_word(fam), "stroked " + stroke_letters: _stroked_word(stroke_letters)},
    }


def families(side: str, digits: np.ndarray) -> dict[str, dict[str, Maker]]:
    """kind -> family name -> maker, for side "train" or "held_out".

    ``digits``: uint8 MNIST images (n, 28, 28) for the "mangled" kind: training images for
    the training side, test images for the held-out side.
    """
    if side == "train":
        return {
            **_written("DejaVu", TRAIN_STROKE_LETTERS, TRAIN_STROKE_SYMBOLS),
            "shapes": {"triangle": _shape(lambda r: _polygon(3, r, -90)), "square": _shape(lambda r: _polygon(4, r, 45)),
                       "star": _shape(_star), "arrow": _shape(_arrow), "heart": _shape(_heart),
                       "spiral": _shape(_spiral), "circle with cross": _shape(_circle_cross),
                       "hexagon": _shape(lambda r: _polygon(6, r)), "random polygon": _shape(_random_polygon)},
            "scribbles": {"random curve": _shape(_random_curve), "zigzag": _shape(_zigzag), "knot": _shape(_knot),
                          "polyline": _shape(_polyline)},
            "dots_lines": {"dot": _dot, "line across": _line_across, "dash": _dash},
            "mangled": {"two overlapped": _overlap(digits, 2), "tiles 2x2": _tiles(digits, 2),
                        "halves on their sides": _halves(digits)},
        }
    if side == "held_out":
        return {
            **_written("Liberation", HELD_OUT_STROKE_LETTERS, HELD_OUT_STROKE_SYMBOLS),
            "shapes": {"pentagon": _shape(lambda r: _polygon(5, r, -90)),
                       "inverted triangle": _shape(lambda r: _polygon(3, r, 90)),
                       "diamond": _shape(lambda r: _polygon(4, r, 0, squash=1.4)),
                       "house": _shape(_house), "smiley": _shape(_smiley), "moon": _shape(_moon),
                       "concentric circles": _shape(_concentric), "lightning": _shape(_lightning),
                       "cloud": _shape(_cloud)},
            "scribbles": {"loops": _shape(_loops), "hatching": _shape(_hatching), "wave": _shape(_wave)},
            "dots_lines": {"dotted row": _dots, "corner": _corner, "wavy line across": _wavy_line, "blot": _blot},
            "mangled": {"three overlapped": _overlap(digits, 3), "tiles 4x4": _tiles(digits, 4)},
        }
    raise ValueError(f"side must be 'train' or 'held_out', got {side!r}")


def drawings(side: str, digits: np.ndarray, seed: int, per_family: int) -> Iterator[tuple[str, str, Image.Image]]:
    """(kind, family, drawing) for ``per_family`` drawings of every family of one side."""
    for kind, members in families(side, digits).items():
        for name, make in members.items():
            rng = np.random.default_rng([seed, KINDS.index(kind), sum(map(ord, name))])
            for _ in range(per_family):
                yield kind, name, make(rng)
