"""Drop-fall cut paths between touching digits (NumPy only; no pixel loop beyond one step per row).

A drop of water let fall at a column of a piece of ink runs down the background, slides around
the ink it meets (into the notch where two digits touch), and only cuts through ink where it is
stuck: the point where the digits meet. A vertical cut through the same column cuts wherever the
column happens to cross ink, e.g. through the bar of a 7 that reaches over the next digit.
Falling from the bottom instead (the piece flipped upside down) finds the contact between two
digits that meet low, as a 7's foot and a 4.
"""
from __future__ import annotations

import numpy as np

MAX_SLIDE = 0.5  # sideways steps in one row at most, as a fraction of the piece's height


def drop_fall(mask: np.ndarray, start: int, from_bottom: bool = False, prefer_left: bool = True) -> np.ndarray:
    """Per row of ``mask`` (True = ink), the column where the right-hand side of the cut begins.

    Classic drop-fall: from (row 0, start), go down if the pixel below is background, else
    down and to the preferred side, else down and to the other side, else slide sideways
    along the row (never back where the drop came from, at most MAX_SLIDE * height steps),
    else cut straight down through the ink.
    """
    grid = mask[::-1] if from_bottom else mask
    height, width = grid.shape
    sides = (-1, 1) if prefer_left else (1, -1)
    slide_limit = max(1, int(MAX_SLIDE * height))
    path = np.empty(height, np.int64)
    x = int(np.clip(start, 0, width - 1))
    for y in range(height - 1):
        below = grid[y + 1]
        slid = 0
        came_from = 0
        while True:
            if not below[x]:
                break
            moved = False
            for side in sides:  # diagonally down
                if 0 <= x + side < width and not below[x + side] and not grid[y, x + side]:
                    x += side
                    moved = True
                    break
            if moved:
                break
            if slid >= slide_limit:
                break  # stuck: cut down through the ink
            for side in sides:  # sideways along this row, not back where the drop came from
                if side != came_from and 0 <= x + side < width and not grid[y, x + side]:
                    x += side
                    came_from = -side
                    slid += 1
                    moved = True
                    break
            if not moved:
                break  # walled in: cut down through the ink
        path[y] = x
    path[height - 1] = x
    return path[::-1].copy() if from_bottom else path
