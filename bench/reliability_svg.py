"""A reliability diagram as a standalone SVG, drawn by hand (no plotting library).

One panel per set: for each of the 15 confidence bins, the accuracy of the answers in it
against their mean confidence, before calibration (grey) and after (blue); the diagonal
is perfect calibration. Bin counts are written under the x axis.
"""
from __future__ import annotations

from html import escape
from typing import Any

W, H, PAD = 330, 330, 46
PLOT = W - 2 * PAD


def _xy(conf: float, acc: float, left: float) -> tuple[float, float]:
    return left + PAD + conf * PLOT, PAD + (1 - acc) * PLOT


def _panel(title: str, before: list[dict[str, Any]], after: list[dict[str, Any]], left: float) -> list[str]:
    out = [f'<rect x="{left + PAD}" y="{PAD}" width="{PLOT}" height="{PLOT}" fill="none" stroke="#888"/>',
           f'<line x1="{left + PAD}" y1="{PAD + PLOT}" x2="{left + PAD + PLOT}" y2="{PAD}" stroke="#bbb" '
           'stroke-dasharray="4 3"/>',
           f'<text x="{left + W / 2}" y="{PAD - 14}" text-anchor="middle" font-size="14">{escape(title)}</text>']
    for t in (0, 0.5, 1):
        x, y = _xy(t, t, left)
        out += [f'<text x="{x}" y="{PAD + PLOT + 16}" text-anchor="middle" font-size="11">{t:g}</text>',
                f'<text x="{left + PAD - 6}" y="{y + 4}" text-anchor="end" font-size="11">{t:g}</text>']
    out.append(f'<text x="{left + W / 2}" y="{H - 6}" text-anchor="middle" font-size="12">confidence</text>')
    out.append(f'<text x="{left + 14}" y="{H / 2}" text-anchor="middle" font-size="12" '
               f'transform="rotate(-90 {left + 14} {H / 2})">accuracy</text>')
    for bins, colour, r in ((before, "#999", 5), (after, "#1f5fbf", 3.5)):
        points = [_xy(b["confidence"], b["accuracy"], left) for b in bins if b["n"]]
        if points:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="'
                       + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
        for b in bins:
            if b["n"]:
                x, y = _xy(b["confidence"], b["accuracy"], left)
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"><title>'
                           f'{b["low"]:.2f}-{b["high"]:.2f}: {b["n"]} answers, accuracy {b["accuracy"]:.3f}, '
                           f'mean confidence {b["confidence"]:.3f}</title></circle>')
    return out


def reliability_svg(sets: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]], temperature: float) -> str:
    """``sets``: name -> (bins before calibration, bins after), as model.nn.calibration.reliability gives."""
    width = W * len(sets)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{H + 24}" '
             f'viewBox="0 0 {width} {H + 24}" font-family="sans-serif">',
             '<rect width="100%" height="100%" fill="white"/>']
    for i, (name, (before, after)) in enumerate(sets.items()):
        parts += _panel(name, before, after, i * W)
    parts.append(f'<text x="{PAD}" y="{H + 18}" font-size="12"><tspan fill="#999">&#9679; before calibration'
                 f'</tspan>   <tspan fill="#1f5fbf">&#9679; after (temperature {temperature:.2f})</tspan>   '
                 '<tspan fill="#888">- - perfect</tspan></text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
