"""The pictures the project draws itself: heat-map PNGs and SVG plots, no plotting library.

PNG: a signed 28x28 map as red (for) / blue (against) with opacity growing with the value,
to lay over a drawing; a unit's weight template the same colours on white. SVG: the training
curves, the confusion matrix, per-class accuracy and the reliability diagram of a model card,
written as plain text (every number formatted here, every label escaped).
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, Iterable, Sequence

import numpy as np

from model.artifacts.png import encode_png

FOR = np.array([220, 38, 38], dtype=np.float32)  # red: pixels that argue for the digit
AGAINST = np.array([37, 99, 235], dtype=np.float32)  # blue: pixels that argue against it


def symmetric_scale(values: np.ndarray) -> float:
    """The largest |value| (1.0 for an all-zero map, so that it draws as transparent)."""
    peak = float(np.abs(values).max()) if values.size else 0.0
    return peak if peak > 0 and math.isfinite(peak) else 1.0


LEVELS = 255  # a map is drawn in 2 x 255 + 1 colours: |value| / scale quantised, and its sign


def _levels(values: np.ndarray, scale: float | None) -> np.ndarray:
    """Indices into the colour tables: 0 (most against) .. LEVELS (zero) .. 2 * LEVELS (most for)."""
    values = np.asarray(values, dtype=np.float32)
    scale = symmetric_scale(values) if scale is None else scale
    return (np.clip(values * (LEVELS / scale), -LEVELS, LEVELS) + (LEVELS + 0.5)).astype(np.intp)


def _tables() -> tuple[np.ndarray, np.ndarray]:
    strength = np.abs(np.arange(-LEVELS, LEVELS + 1, dtype=np.float32)) / LEVELS
    colour = np.where((np.arange(-LEVELS, LEVELS + 1) >= 0)[:, None], FOR, AGAINST)
    heat = np.empty((2 * LEVELS + 1, 4), np.uint8)
    heat[:, :3] = colour.astype(np.uint8)
    heat[:, 3] = np.round(np.sqrt(strength) * 255)
    template = np.round(255 - strength[:, None] * (255 - colour)).astype(np.uint8)
    return heat, template


# Looked up, not computed per pixel: a request draws 19 of these maps.
HEAT_TABLE, TEMPLATE_TABLE = _tables()


def heat_rgba(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(h, w, 4) uint8: red where positive, blue where negative, alpha |v| / scale (square-root
    eased, so that weak evidence stays visible over a drawing)."""
    return HEAT_TABLE[_levels(values, scale)]


def template_rgb(values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(h, w, 3) uint8: a weight template, red for positive and blue for negative weights on white."""
    return TEMPLATE_TABLE[_levels(values, scale)]


def heat_png(values: np.ndarray, scale: float | None = None) -> bytes:
    """A heat map as an RGBA PNG, stored uncompressed like the templates (see template_pngs)."""
    return encode_png(heat_rgba(values, scale), level=0)


def template_pngs(templates: np.ndarray) -> list[bytes]:
    """(k, h, w) templates, each on its own symmetric scale, as RGB PNGs. Stored uncompressed
    (zlib level 0): setting up deflate costs ~50 us per call, ~16 of these go into every
    explanation, and 28x28 pixels are 2.4 KB either way."""
    templates = np.asarray(templates, dtype=np.float32)
    scales = np.abs(templates).max(axis=(1, 2), keepdims=True)
    scales[~(scales > 0)] = 1.0
    return [encode_png(rgb, level=0) for rgb in template_rgb(templates / scales, 1.0)]


def overlay_rgb(image: np.ndarray, values: np.ndarray, scale: float | None = None) -> np.ndarray:
    """(h, w, 3) uint8: a [0, 1] greyscale image (white ink on black, lightened) with the heat
    map composited over it, as the page shows it over the 28x28 preview."""
    base = 0.45 + 0.55 * np.clip(np.asarray(image, np.float32), 0.0, 1.0)  # lightened, so colours read on black
    heat = heat_rgba(values, scale).astype(np.float32)
    alpha = heat[..., 3:] / 255.0
    rgb = (1 - alpha) * (base[..., None] * 255) + alpha * heat[..., :3]
    return np.round(rgb).astype(np.uint8)


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of an (h, w[, c]) image, for files a person opens."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1)


# ----------------------------------------------------------------------------------- SVG

WIDTH, HEIGHT = 560, 300
MARGIN = {"left": 56, "right": 16, "top": 28, "bottom": 44}
PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706")


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _svg(width: int, height: int, title: str, body: Iterable[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(title)}" font-family="system-ui, sans-serif" '
            f'font-size="12"><title>{escape(title)}</title>' + "".join(body) + "</svg>")


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(low / step - 1e-9) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def line_plot(series: Sequence[tuple[str, Sequence[float], Sequence[float]]], *, title: str, x_label: str,
              y_label: str, y_range: tuple[float, float] | None = None, legend: str = "top") -> str:
    """A line plot of named (label, xs, ys) series with axes, ticks and a legend ("top" or "bottom" right)."""
    points = [(x, y) for _, xs, ys in series for x, y in zip(xs, ys) if y is not None and math.isfinite(y)]
    if not points:
        return _svg(WIDTH, 60, title, [f'<text x="8" y="30">{escape(title)}: no data</text>'])
    x_lo, x_hi = min(p[0] for p in points), max(p[0] for p in points)
    y_lo, y_hi = y_range or (min(p[1] for p in points), max(p[1] for p in points))
    if y_hi <= y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    if x_hi <= x_lo:
        x_hi = x_lo + 1
    left, top = MARGIN["left"], MARGIN["top"]
    w, h = WIDTH - left - MARGIN["right"], HEIGHT - top - MARGIN["bottom"]

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * w

    def py(y: float) -> float:
        return top + h - (y - y_lo) / (y_hi - y_lo) * h

    body = [f'<text x="{left}" y="16" font-weight="600">{escape(title)}</text>',
            f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#9ca3af"/>']
    for t in _ticks(y_lo, y_hi):
        body.append(f'<line x1="{left}" x2="{left + w}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#e5e7eb"/>'
                    f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_num(t)}</text>')
    for t in _ticks(x_lo, x_hi, 6):
        body.append(f'<text x="{px(t):.1f}" y="{top + h + 16}" text-anchor="middle">{_num(t)}</text>')
    body.append(f'<text x="{left + w / 2}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>')
    body.append(f'<text x="14" y="{top + h / 2}" text-anchor="middle" transform="rotate(-90 14 {top + h / 2})">'
                f'{escape(y_label)}</text>')
    for i, (label, xs, ys) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{px(x):.1f},{py(min(max(y, y_lo), y_hi)):.1f}" for x, y in zip(xs, ys)
                        if y is not None and math.isfinite(y))
        body.append(f'<polyline class="series" data-label="{escape(label)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2" points="{path}"/>')
        lx = left + w - 150
        ly = top + 14 + 16 * i if legend == "top" else top + h - 10 - 16 * (len(series) - 1 - i)
        body.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" stroke-width="2"/>'
                    f'<text x="{lx + 24}" y="{ly}">{escape(label)}</text>')
    return _svg(WIDTH, HEIGHT, title, body)


def curves_svgs(curves: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Loss and accuracy per epoch (training and validation) from a card's "curves"."""
    epochs = [c.get("epoch", i + 1) for i, c in enumerate(curves)]

    def column(key: str) -> list[float]:
        return [c.get(key) for c in curves]

    return {
        "loss": line_plot([("training loss", epochs, column("train_loss")), ("validation loss", epochs, column("val_loss"))],
                          title="Loss per epoch", x_label="epoch", y_label="cross-entropy"),
        "accuracy": line_plot([("training accuracy", epochs, column("train_accuracy")),
                               ("validation accuracy", epochs, column("val_accuracy"))],
                              title="Accuracy per epoch", x_label="epoch", y_label="accuracy", legend="bottom"),
    }


def confusion_svg(matrix: Sequence[Sequence[int]], title: str = "Confusion matrix") -> str:
    """The confusion matrix as a heat map; off-diagonal cells on their own colour scale so
    that a handful of errors is visible next to a diagonal of a thousand."""
    m = np.asarray(matrix, dtype=np.int64)
    n = len(m)
    cell, left, top = 38, 56, 58
    size = left + n * cell + 12
    off = m.copy()
    np.fill_diagonal(off, 0)
    off_peak = max(int(off.max()), 1)
    body = [f'<text x="8" y="16" font-weight="600">{escape(title)}</text>',
            f'<text x="{left + n * cell / 2}" y="36" text-anchor="middle" fill="#555">predicted digit</text>',
            f'<text x="14" y="{top + n * cell / 2}" text-anchor="middle" fill="#555" '
            f'transform="rotate(-90 14 {top + n * cell / 2})">true digit</text>']
    for j in range(n):
        body.append(f'<text x="{left + j * cell + cell / 2}" y="{top - 6}" text-anchor="middle">{j}</text>')
    for i in range(n):
        body.append(f'<text x="{left - 8}" y="{top + i * cell + cell / 2 + 4}" text-anchor="end">{i}</text>')
        row_total = max(int(m[i].sum()), 1)
        for j in range(n):
            v = int(m[i, j])
            if i == j:
                strength, rgb = v / row_total, (5, 150, 105)
            else:
                strength, rgb = v / off_peak, (220, 38, 38)
            fill = tuple(round(255 - strength * (255 - c)) for c in rgb)
            ink = "#fff" if strength > 0.6 else "#111"
            body.append(f'<rect class="cell" data-true="{i}" data-predicted="{j}" x="{left + j * cell}" '
                        f'y="{top + i * cell}" width="{cell}" height="{cell}" fill="rgb{fill}" stroke="#fff">'
                        f'<title>true {i}, predicted {j}: {v}</title></rect>'
                        f'<text x="{left + j * cell + cell / 2}" y="{top + i * cell + cell / 2 + 4}" '
                        f'text-anchor="middle" fill="{ink}" font-size="11">{v}</text>')
    return _svg(size, top + n * cell + 12, title, body)


def most_confused(matrix: Sequence[Sequence[int]], k: int = 5) -> list[tuple[int, int, int]]:
    """The k largest off-diagonal cells as (true, predicted, count), largest first."""
    m = np.asarray(matrix, dtype=np.int64)
    pairs = [(int(m[i, j]), i, j) for i in range(len(m)) for j in range(len(m)) if i != j and m[i, j] > 0]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [(i, j, c) for c, i, j in pairs[:k]]


def bars_svg(values: Sequence[float], *, title: str, low: float | None = None) -> str:
    """Horizontal bars for per-class values in [low, 1] (the axis starts near the worst value)."""
    vals = [float(v) if v is not None else float("nan") for v in values]
    finite = [v for v in vals if math.isfinite(v)]
    low = low if low is not None else (math.floor(min(finite, default=0.0) * 100 - 1) / 100)
    low = min(max(low, 0.0), 0.99)
    row, left, width = 22, 28, 420
    body = [f'<text x="{left}" y="16" font-weight="600">{escape(title)}</text>',
            f'<text x="{left}" y="34" fill="#555">axis from {_num(low * 100)}% to 100%</text>']
    for i, v in enumerate(vals):
        y = 44 + i * row
        frac = 0.0 if not math.isfinite(v) else (v - low) / (1 - low)
        label = "–" if not math.isfinite(v) else f"{v * 100:.2f}%"
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{i}</text>'
                    f'<rect class="bar" x="{left}" y="{y + 3}" width="{max(frac, 0) * width:.1f}" height="{row - 6}" '
                    f'fill="#2563eb"/><text x="{left + width + 6}" y="{y + 15}">{label}</text>')
    return _svg(left + width + 70, 44 + len(vals) * row + 8, title, body)


def reliability_svg(bins: Sequence[dict[str, Any]], title: str = "Reliability diagram") -> str:
    """Confidence against accuracy per bin ({"confidence", "accuracy", "count"} or {"low", "high", ...});
    the diagonal is a perfectly calibrated model."""
    size, left, top = 320, 48, 28
    side = size - left - 16

    def px(v: float) -> float:
        return left + v * side

    def py(v: float) -> float:
        return top + side - v * side

    body = [f'<text x="{left}" y="16" font-weight="600">{escape(title)}</text>',
            f'<rect x="{left}" y="{top}" width="{side}" height="{side}" fill="none" stroke="#9ca3af"/>',
            f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(1)}" y2="{py(1)}" stroke="#9ca3af" stroke-dasharray="4 3"/>']
    for t in (0, 0.25, 0.5, 0.75, 1):
        body.append(f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_num(t)}</text>'
                    f'<text x="{px(t):.1f}" y="{top + side + 16}" text-anchor="middle">{_num(t)}</text>')
    for b in bins:
        count = b.get("count", b.get("n", 1))
        if not count:
            continue
        lo, hi = b.get("low"), b.get("high")
        conf, acc = b.get("confidence"), b.get("accuracy")
        if acc is None or (conf is None and lo is None):
            continue
        if lo is None or hi is None:
            lo, hi = max(conf - 0.05, 0.0), min(conf + 0.05, 1.0)
        body.append(f'<rect class="bin" x="{px(lo):.1f}" y="{py(acc):.1f}" width="{(hi - lo) * side:.1f}" '
                    f'height="{acc * side:.1f}" fill="#2563eb" fill-opacity="0.6" stroke="#1e40af">'
                    f'<title>confidence {_num(conf if conf is not None else (lo + hi) / 2)}, accuracy {_num(acc)}, '
                    f'{count} answers</title></rect>')
    body.append(f'<text x="{left + side / 2}" y="{size + 26}" text-anchor="middle">confidence</text>')
    body.append(f'<text x="12" y="{top + side / 2}" text-anchor="middle" transform="rotate(-90 12 {top + side / 2})">'
                'accuracy</text>')
    return _svg(size, size + 34, title, body)


# ------------------------------------------------------------------- a model card's figures

def evaluation(card: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The card's fullest evaluation: the test set's, else the validation split's."""
    for name in ("test", "validation"):
        report = card.get(name)
        if isinstance(report, dict) and report.get("confusion_matrix"):
            return name, report
    return None


def calibration_reports(card: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Reliability reports ({"bins": [...], "ece"?}) anywhere under the card's "calibration"
    (e.g. before/after, per data set), labelled by where they sit; [] when the card has none."""
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(label: str, node: Any, depth: int) -> None:
        if not isinstance(node, dict) or depth > 3:
            return
        if isinstance(node.get("bins"), list):
            found.append((label, node))
            return
        for key, value in node.items():
            walk(f"{label} {key}".strip(), value, depth + 1)

    walk("", card.get("calibration"), 0)
    return found


def card_figures(card: dict[str, Any]) -> dict[str, str]:
    """Every SVG figure a model card supports, by file stem: loss, accuracy, confusion,
    per_class, reliability[_<where>]."""
    figures: dict[str, str] = {}
    curves = card.get("curves")
    if isinstance(curves, list) and curves:
        figures.update(curves_svgs(curves))
    found = evaluation(card)
    if found:
        name, report = found
        figures["confusion"] = confusion_svg(
            report["confusion_matrix"], title=f"Confusion matrix, {name} set")
        if report.get("per_class_accuracy"):
            figures["per_class"] = bars_svg(report["per_class_accuracy"], title=f"Accuracy per digit, {name} set")
    for label, report in calibration_reports(card):
        ece = report.get("ece")
        title = "Reliability diagram" + (f", {label}" if label else "") + (f" (ECE {ece * 100:.2f}%)" if ece is not None else "")
        key = "reliability" + ("_" + "_".join(label.split()) if label else "")
        figures[key] = reliability_svg(report["bins"], title=title)
    return figures
