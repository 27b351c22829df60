"""Drop-fall cut paths (app/imaging/dropfall.py) on shapes drawn here: the drop slides into the
notch where two pieces touch and cuts through ink only at the contact."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from app.imaging.dropfall import drop_fall


def rings(boxes: list[tuple[int, int, int, int]], size: tuple[int, int] = (120, 60)) -> list[np.ndarray]:
    """One mask per ring (an outlined ellipse, 4 px pen), each on its own canvas of `size`."""
    masks = []
    for box in boxes:
        image = Image.new("L", size, 0)
        ImageDraw.Draw(image).ellipse(box, outline=255, width=4)
        masks.append(np.asarray(image) > 0)
    return masks


def sides(path: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of `mask` left of the cut path, and right of it."""
    columns = np.arange(mask.shape[1])[None, :]
    return mask & (columns < path[:, None]), mask & (columns >= path[:, None])


def test_two_touching_rings_are_cut_at_their_contact_only() -> None:
    left, right = rings([(2, 5, 58, 55), (55, 5, 111, 55)])  # they overlap by 4 px at mid-height
    both = left | right
    for start in (50, 56, 62):  # anywhere near the notch, not only its bottom
        for from_bottom in (False, True):
            path = drop_fall(both, start, from_bottom=from_bottom)
            on_left, on_right = sides(path, both)
            only_left, only_right = left & ~right, right & ~left
            # Each ring keeps all of its own pixels but a few at the contact.
            assert np.count_nonzero(only_left & on_right) <= 12, (start, from_bottom)
            assert np.count_nonzero(only_right & on_left) <= 12, (start, from_bottom)
            assert np.count_nonzero(only_left & on_left) > 0.95 * np.count_nonzero(only_left)
            assert np.count_nonzero(only_right & on_right) > 0.95 * np.count_nonzero(only_right)


def test_a_vertical_cut_at_the_same_column_takes_a_piece_of_a_ring() -> None:
    """Why the drop: at a column a few pixels off the contact, a straight cut slices a ring."""
    left, right = rings([(2, 5, 58, 55), (55, 5, 111, 55)])
    both = left | right
    start = 62
    vertical = np.full(both.shape[0], start)
    sliced = np.count_nonzero(right & ~left & sides(vertical, both)[0])
    dropped = np.count_nonzero(right & ~left & sides(drop_fall(both, start), both)[0])
    assert sliced > 3 * max(dropped, 1), (sliced, dropped)


def test_in_the_background_the_drop_falls_straight() -> None:
    left, right = rings([(2, 5, 40, 55), (70, 5, 111, 55)])
    path = drop_fall(left | right, 55)
    assert np.all(path == 55)


def test_walled_in_the_drop_cuts_down_and_stays_in_the_mask() -> None:
    solid = np.ones((30, 20), bool)
    for start, prefer_left in ((0, True), (19, False), (10, True)):
        path = drop_fall(solid, start, prefer_left=prefer_left)
        assert path.shape == (30,) and np.all((0 <= path) & (path < 20))
        assert np.all(path == start)
