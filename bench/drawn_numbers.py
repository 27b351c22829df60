"""Numbers drawn as pen strokes: the digits of bench/drawn_styles.py written side by side.

Used by bench/number_accuracy.py and tests/app/test_number_api.py (the same seed gives the same
drawings in both). Each digit is drawn by drawn_styles.draw_strokes (random size, shift, slant,
wobble, one of its pen widths), cropped to its ink, scaled to the number's height (each digit
varies around it), put on its own baseline, and placed so that the ink of neighbours is exactly
`gap` pixels apart where they come closest (negative: they overlap that much, i.e. touch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from bench.drawn_styles import PEN_WIDTHS, STYLES, Stroke, arc, draw_strokes

WIDTH, HEIGHT = 700, 280  # the page's number pad, exported (5:2)

# Digits whose strokes do not touch: the pieces the segmenter must put back together.
PIECEWISE: dict[str, tuple[int, list[Stroke]]] = {
    "5 with a detached flag": (5, [[(0.38, 0.2), (0.35, 0.45), *arc(0.5, 0.63, 0.2, 0.2, 250, 500)],
                                   [(0.5, 0.14), (0.72, 0.14)]]),
    # the bar passes the stem's column without touching the stem, which starts below it
    "4 in two strokes": (4, [[(0.3, 0.15), (0.27, 0.55), (0.74, 0.55)], [(0.62, 0.66), (0.62, 0.88)]]),
    "0 in two arcs": (0, [arc(0.5, 0.5, 0.22, 0.33, 96, 264), arc(0.5, 0.5, 0.22, 0.33, -84, 84)]),
    "7 with a detached bar": (7, [[(0.28, 0.18), (0.72, 0.18), (0.46, 0.86)], [(0.36, 0.55), (0.5, 0.55)]]),
}
# Ink darker than this counts when measuring where digits are (the page's ink is #111418).
INKED = 128


@dataclass
class DrawnNumber:
    image: Image.Image  # RGBA, opaque white paper, dark ink
    text: str
    boxes: list[tuple[int, int, int, int]] = field(default_factory=list)  # per digit, x0 y0 x1 y1 exclusive
    styles: list[str] = field(default_factory=list)


def styles_of(digit: int, piecewise: bool = False) -> list[str]:
    table = PIECEWISE if piecewise else STYLES
    return [name for name, (d, _) in table.items() if d == digit]


def glyph(digit: int, rng: np.random.Generator, height: int, style: str | None = None,
          pen: int | None = None) -> tuple[np.ndarray, str]:
    """One drawn digit as ink coverage (uint8, 255 = ink) cropped to its ink, `height` pixels high."""
    if style is None:
        names = styles_of(digit)
        style = names[int(rng.integers(len(names)))]
    strokes = (PIECEWISE.get(style) or STYLES[style])[1]
    pen = pen or PEN_WIDTHS[int(rng.integers(len(PEN_WIDTHS)))]
    coverage = 255 - np.asarray(draw_strokes(strokes, pen, rng).convert("L"))
    rows, cols = np.flatnonzero(coverage.max(axis=1) > 0), np.flatnonzero(coverage.max(axis=0) > 0)
    crop = coverage[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = height / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), height)
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.LANCZOS)), style


def contact_offset(left: np.ndarray, right: np.ndarray, dy: int) -> int:
    """How far right of `left`'s x origin `right` must start so its ink just meets left's ink
    (0 px apart on the closest row); `right` sits dy pixels lower than `left`."""
    best = -math.inf
    for y in range(right.shape[0]):
        ly = y + dy
        if not 0 <= ly < left.shape[0]:
            continue
        l_inked = np.flatnonzero(left[ly] >= INKED)
        r_inked = np.flatnonzero(right[y] >= INKED)
        if len(l_inked) and len(r_inked):
            best = max(best, l_inked[-1] + 1 - r_inked[0])
    return int(best) if best > -math.inf else left.shape[1]


def draw_number(text: str, rng: np.random.Generator, gap: tuple[float, float] = (0.08, 0.2),
                size: tuple[int, int] = (WIDTH, HEIGHT), height: tuple[float, float] = (0.45, 0.8),
                piecewise: bool = False, styles: list[str] | None = None) -> DrawnNumber:
    """`text` (digits) drawn side by side on white; gap: range of ink gaps in digit heights
    (negative: overlapping, i.e. touching); height: the number's height as a fraction of the canvas."""
    width, canvas_height = size
    base = rng.uniform(*height) * canvas_height
    glyphs = []
    for i, ch in enumerate(text):
        style = styles[i] if styles else None
        if style is None and piecewise and styles_of(int(ch), piecewise=True):
            style = styles_of(int(ch), piecewise=True)[0]
        glyphs.append(glyph(int(ch), rng, max(8, int(base * rng.uniform(0.88, 1.0))), style))
    baselines = [rng.normal(0.0, 0.03 * base) for _ in glyphs]
    # x of each glyph's left edge, on a canvas as tall as the tallest glyph plus the baseline jitter
    tops = [int(round(baselines[i] - g.shape[0])) for i, (g, _) in enumerate(glyphs)]
    top0 = min(tops)
    tops = [t - top0 for t in tops]
    xs = [0]
    for i in range(1, len(glyphs)):
        prev, cur = glyphs[i - 1][0], glyphs[i][0]
        touch = contact_offset(prev, cur, tops[i] - tops[i - 1])
        xs.append(xs[-1] + touch + int(round(rng.uniform(*gap) * base)))
    left = min(xs)
    xs = [x - left for x in xs]
    total_w = max(x + g.shape[1] for x, (g, _) in zip(xs, glyphs))
    total_h = max(t + g.shape[0] for t, (g, _) in zip(tops, glyphs))
    line = np.zeros((total_h, total_w), np.uint8)
    for x, t, (g, _) in zip(xs, tops, glyphs):
        np.maximum(line[t:t + g.shape[0], x:x + g.shape[1]], g, out=line[t:t + g.shape[0], x:x + g.shape[1]])
    fit = min(1.0, 0.92 * width / total_w, 0.92 * canvas_height / total_h)
    placed_w, placed_h = max(1, round(total_w * fit)), max(1, round(total_h * fit))
    if fit < 1.0:
        line = np.asarray(Image.fromarray(line).resize((placed_w, placed_h), Image.Resampling.LANCZOS))
    ox = int(rng.integers(0, width - placed_w + 1))
    oy = int(rng.integers(0, canvas_height - placed_h + 1))
    coverage = np.zeros((canvas_height, width), np.uint8)
    coverage[oy:oy + placed_h, ox:ox + placed_w] = line
    ink = np.array([17, 20, 24], np.float32)
    t = coverage[..., None] / 255.0
    rgb = (1 - t) * 255.0 + t * ink
    image = Image.fromarray(np.dstack([rgb.round().astype(np.uint8), np.full(coverage.shape, 255, np.uint8)]), "RGBA")
    boxes = []
    for x, top, (g, _) in zip(xs, tops, glyphs):
        boxes.append((ox + int(x * fit), oy + int(top * fit),
                      ox + math.ceil((x + g.shape[1]) * fit), oy + math.ceil((top + g.shape[0]) * fit)))
    return DrawnNumber(image, text, boxes, [s for _, s in glyphs])


def random_text(rng: np.random.Generator, digits: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, digits))
