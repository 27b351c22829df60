"""model.nn.verdict.stroke_shapes gives the first version's shapes, from the same float32 moments.

The first version (commit 0efadf0) is kept below as the reference; the fields are random blobs
and bars, and every shape occurs.
"""
from __future__ import annotations

import numpy as np

from model.nn import verdict
from model.nn.verdict import (DASH_ASPECT, DASH_FILL, DOT_ASPECT, DOT_FILL, FIELD, INK_LEVEL, LINE_THINNESS,
                              UPRIGHT_DEG, has_hole)


def reference_shapes(fields: np.ndarray) -> list[str | None]:
    """stroke_shapes as first written (one mgrid per call, one sum per moment)."""
    fields = np.asarray(fields, dtype=np.float32).reshape(-1, FIELD, FIELD)
    out: list[str | None] = []
    grid_y, grid_x = np.mgrid[0:FIELD, 0:FIELD].astype(np.float32)
    for f in fields:
        ink = f > INK_LEVEL
        count = int(np.count_nonzero(ink))
        if count < 3:
            out.append("dot")
            continue
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        h, w = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        if count >= DOT_FILL * h * w and DOT_ASPECT[0] <= h / w <= DOT_ASPECT[1] and not has_hole(ink):
            out.append("dot")
            continue
        if h / w < DASH_ASPECT and count >= DASH_FILL * h * w:
            out.append("line")
            continue
        weight = f * ink
        mass = float(weight.sum())
        my, mx = float((weight * grid_y).sum()) / mass, float((weight * grid_x).sum()) / mass
        dy, dx = grid_y - my, grid_x - mx
        cyy, cxx, cxy = (float((weight * a * b).sum()) / mass for a, b in ((dy, dy), (dx, dx), (dx, dy)))
        spread = np.linalg.eigvalsh(np.array([[cxx, cxy], [cxy, cyy]]))
        minor, major = max(float(spread[0]), 0.0), float(spread[1])
        if major > 0 and np.sqrt(minor / major) < LINE_THINNESS:
            angle = 0.5 * np.degrees(np.arctan2(2 * cxy, cyy - cxx))
            if abs(angle) > UPRIGHT_DEG:
                out.append("line")
                continue
        out.append(None)
    return out


def random_fields(n: int = 1500, seed: int = 15) -> np.ndarray:
    """Blobs, bars and their overlaps at random places, sizes and levels: dots, lines and neither."""
    rng = np.random.default_rng(seed)
    fields = np.zeros((n, FIELD, FIELD), np.float32)
    for f in fields:
        for _ in range(int(rng.integers(1, 5))):
            y, x = rng.integers(0, FIELD, 2)
            h, w = rng.integers(1, 12, 2)
            f[y:y + h, x:x + w] = rng.uniform(0.2, 1.0)
    return fields.reshape(n, -1)


def test_the_same_shapes_as_the_first_version() -> None:
    fields = random_fields()
    shapes = verdict.stroke_shapes(fields)
    assert shapes == reference_shapes(fields)
    assert {"dot", "line", None} <= set(shapes)

