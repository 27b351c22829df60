"""Cut the ink of a number into its digits (Pillow + NumPy only).

    ink -> connected pieces (8-connected runs, joined by pointer jumping) -> specks dropped
        -> atoms: the pieces, a wide piece (touching digits) cut at the valleys of its column profile,
           straight down and, as other ways, along drop-fall paths (app/imaging/dropfall.py)
        -> candidates: 1 to MAX_GROUP consecutive atoms, left to right, that could be one digit
        -> [the caller classifies every candidate in one forward pass]
        -> best_reading: the partition of the atoms into candidates with the highest score
           (sum of log-confidences plus geometric priors), found by dynamic programming.

Why over-segment and let the network choose: the strokes of one digit need not touch (the flag of
a 5, an open 4, a 0 drawn in two arcs) and two digits may (a number written fast). Geometry alone
cannot tell a 5's flag from a narrow 1 next to it; the network, shown both readings, can.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from app.imaging.dropfall import drop_fall

MAX_DIGITS = 12  # digits in one drawing; more is a 422
MAX_ATOMS = 64  # pieces after specks are dropped and wide pieces are cut
MAX_RUNS = 60_000  # horizontal runs of ink; beyond that the image is noise, not handwriting
MAX_GROUP = 10  # atoms in one digit at most
SPECK_FRACTION = 0.03  # a piece with less ink than this fraction of the biggest piece's is a speck
STROKE_LENGTH = 0.2  # ...unless it is at least this long (line heights)
TALL = 0.5  # a piece at least this fraction of the line's height counts towards that height
SPLIT_ASPECT = 0.7  # a piece wider than this times its height may be touching digits (one digit: <= 0.77)
MAX_CUTS_PER_HEIGHT = 4  # cuts tried per line height of a wide piece's width
CUT_NUDGE = 0.03  # each cut is also tried this many line heights to its left and right
CUT_SPACING = 0.12  # cuts of one piece at least this many line heights apart
MAX_INNER_GAP = 0.35  # pieces further apart than this (line heights) are never one digit
MAX_WIDTH = 1.4  # no digit is wider than this times the line height
# Log-score priors (tuned on bench/number_accuracy.py --seed 0, reported on other seeds).
FRAGMENT_HEIGHT = 0.65  # a candidate lower than this (line heights) is a piece of a digit...
FRAGMENT_COST = 4.0  # ...and reading it as a digit costs this much
WIDE_ASPECT = 0.8  # wider than this times its own height: probably two digits...
WIDE_COST = 6.0  # ...costing this much per unit of aspect above
GAP_COST = 6.0  # joining pieces across a gap of g line heights costs GAP_COST * g
CUT_COST = 0.3  # reading the two sides of a cut as different digits costs this much
CUT_STYLES: tuple[tuple[bool, bool], ...] = ((False, True), (False, False), (True, True), (True, False))
NO_VALLEY_MIDDLE = True  # drop-fall ways tried
DIGIT_BONUS = 0.3  # added per digit: sums of log-confidences otherwise favour fewer, merged digits


CutStyle = tuple[bool, bool]  # drop-fall from the bottom?, preferring the left?


class TooManyPieces(ValueError):
    """The ink falls into more pieces than a number of MAX_DIGITS digits has."""


class Candidate(NamedTuple):
    first: int  # atoms [first, last) left to right
    last: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in the ink array's pixels
    ink: np.ndarray  # uint8, the candidate's ink only, cropped to box
    prior: float  # log-score from geometry alone


class Segmentation(NamedTuple):
    atoms: int
    candidates: list[Candidate]
    line_height: float


def segment(ink: np.ndarray) -> Segmentation:
    """Atoms of ``ink`` (uint8, bright on 0) and every candidate digit made of consecutive atoms."""
    labels, count = label_components(ink > 0)
    if count == 0:
        return Segmentation(0, [], 0.0)
    stats = component_stats(labels, count, ink)
    keep = stats.mass >= SPECK_FRACTION * stats.mass.max()
    if np.count_nonzero(keep) > MAX_ATOMS:  # before any per-piece work: noise has thousands
        raise too_many_pieces(int(np.count_nonzero(keep)))
    heights = stats.y1 - stats.y0
    line_height = float(np.median(heights[keep & (heights >= TALL * heights[keep].max())]))
    # A stroke drawn with a thinner pen than the biggest digit's has little ink, yet it is no
    # speck if it is long: the stem of a 4, the bar of a 7.
    keep |= np.maximum(heights, stats.x1 - stats.x0) >= STROKE_LENGTH * line_height
    if np.count_nonzero(keep) > MAX_ATOMS:
        raise too_many_pieces(int(np.count_nonzero(keep)))
    readings = [candidates_of(ink, *atoms_of(labels, stats, keep, line_height), line_height)]
    if readings[0][0] > len(set(readings[0][2])):  # a piece was cut: also try the drop-fall paths
        readings += [candidates_of(ink, *atoms_of(labels, stats, keep, line_height, style), line_height)
                     for style in CUT_STYLES]
    return joined(readings, line_height)


def candidates_of(ink: np.ndarray, owner: np.ndarray, pieces: list[int],
                  line_height: float) -> tuple[int, list[Candidate], list[int]]:
    """One way of cutting the ink into atoms: (atom count, every candidate digit of consecutive atoms,
    the component of each atom)."""
    split = straddling(pieces)
    boxes = atom_boxes(owner)
    if len(boxes) > MAX_ATOMS:
        raise too_many_pieces(len(boxes))
    candidates = []
    for first in range(len(boxes)):
        for last in range(first + 1, min(len(boxes), first + MAX_GROUP) + 1):
            candidate = make_candidate(ink, owner, boxes, pieces, split, first, last, line_height)
            if candidate is None:
                break  # a wider group would be even less plausible
            candidates.append(candidate)
    return len(boxes), candidates, pieces


def joined(readings: Sequence[tuple[int, list[Candidate], list[int]]], line_height: float) -> Segmentation:
    """Several ways of cutting the ink as one graph for best_reading: all start at node 0 and end at
    the last node, each with its own inner nodes, so the best reading is the best over all of them.

    Why one graph: every candidate of every way is classified in the caller's one forward pass, and
    the network's confidence on the halves picks the cut. A candidate with the same pixels in two
    ways (the uncut digits) shares one ink array, so the caller can classify it once.
    """
    end = 1 + sum(atoms - 1 for atoms, _, _ in readings)
    seen: dict[tuple, np.ndarray] = {}
    candidates: list[Candidate] = []
    offset = 1
    for atoms, mine, _ in readings:
        def node(k: int) -> int:
            return 0 if k == 0 else end if k == atoms else offset + k - 1
        for candidate in mine:
            key = (candidate.box, candidate.ink.tobytes())
            ink = seen.setdefault(key, candidate.ink)
            candidates.append(candidate._replace(first=node(candidate.first), last=node(candidate.last), ink=ink))
        offset += atoms - 1
    return Segmentation(end, candidates, line_height)


def too_many_pieces(count: int) -> TooManyPieces:
    return TooManyPieces(f"the drawing falls into {count} separate pieces of ink; a number has at most "
                         f"{MAX_DIGITS} digits (draw fewer digits, or clear stray marks)")


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected components: label image (0 = background, 1..n) and n.

    Rows are cut into runs of ink; a run touches the runs of the next row that overlap it or
    meet it diagonally (found with two binary searches, no Python loop over pixels); runs are
    joined by hooking roots to smaller roots and pointer jumping until every edge is inside one tree.
    """
    h, w = mask.shape
    if mask.size == 0:
        return np.zeros(mask.shape, np.int32), 0
    step = np.diff(mask.view(np.int8), axis=1, prepend=0, append=0)
    rows, starts = np.nonzero(step == 1)
    ends = np.nonzero(step == -1)[1]
    runs = len(rows)
    if runs > MAX_RUNS:
        raise TooManyPieces(f"the image holds {runs} separate runs of ink: it looks like noise or a photo, "
                            "not a handwritten number")
    if runs == 0:
        return np.zeros(mask.shape, np.int32), 0
    key = w + 2
    lo = np.searchsorted(rows * key + ends, (rows + 1) * key + starts, "left")
    hi = np.searchsorted(rows * key + starts, (rows + 1) * key + ends, "right")
    a, b = expand_ranges(lo, np.maximum(hi - lo, 0))
    parent = np.arange(runs)
    while len(a):
        pa, pb = parent[a], parent[b]
        apart = pa != pb
        if not apart.any():
            break
        a, b, pa, pb = a[apart], b[apart], pa[apart], pb[apart]
        np.minimum.at(parent, np.maximum(pa, pb), np.minimum(pa, pb))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    roots, component = np.unique(parent, return_inverse=True)
    lengths = ends - starts
    pixels = np.repeat(rows * w + starts, lengths) + expand_ranges(np.zeros(runs, np.int64), lengths)[1]
    labels = np.zeros(h * w, np.int32)
    labels[pixels] = np.repeat(component.astype(np.int32) + 1, lengths)
    return labels.reshape(h, w), len(roots)


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges [starts[i], starts[i] + counts[i]): (i repeated, each value of the range)."""
    owner = np.repeat(np.arange(len(starts)), counts)
    total = int(counts.sum())
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.repeat(starts, counts) + offsets


class Stats(NamedTuple):
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    mass: np.ndarray


def component_stats(labels: np.ndarray, count: int, ink: np.ndarray) -> Stats:
    """Bounding box (exclusive ends) and ink mass of components 1..count (index 0 = component 1)."""
    ys, xs = np.nonzero(labels)
    which = labels[ys, xs] - 1
    x0 = np.full(count, labels.shape[1]); np.minimum.at(x0, which, xs)  # noqa: E702
    y0 = np.full(count, labels.shape[0]); np.minimum.at(y0, which, ys)  # noqa: E702
    x1 = np.zeros(count, np.int64); np.maximum.at(x1, which, xs + 1)  # noqa: E702
    y1 = np.zeros(count, np.int64); np.maximum.at(y1, which, ys + 1)  # noqa: E702
    mass = np.bincount(which, weights=ink[ys, xs], minlength=count)
    return Stats(x0, y0, x1, y1, mass)


def atoms_of(labels: np.ndarray, stats: Stats, keep: np.ndarray, line_height: float,
             style: CutStyle | None = None) -> tuple[np.ndarray, list[int]]:
    """Atom id per pixel (-1: none), ids in left-to-right order, and the component of each atom.

    A wide piece is cut at the valleys of its column profile: straight down (style None) or
    along drop-fall paths starting there (``style``: from the bottom?, preferring the left?).
    """
    pieces: list[tuple[float, int, np.ndarray, np.ndarray, int]] = []  # (centre x, component, ys, xs, part)
    for c in np.flatnonzero(keep):
        x0, x1, y0, y1 = int(stats.x0[c]), int(stats.x1[c]), int(stats.y0[c]), int(stats.y1[c])
        mask = labels[y0:y1, x0:x1] == c + 1
        cuts = []
        # Wide enough to be touching digits, but not a long dash (12 touching digits are < 12:1).
        if SPLIT_ASPECT * (y1 - y0) < x1 - x0 <= MAX_DIGITS * (y1 - y0):
            cuts = cut_columns(column_extent(mask), line_height)
        ys, xs = np.nonzero(mask)
        if not cuts:
            pieces.append(((x0 + x1) / 2, int(c), ys + y0, xs + x0, 0))
            continue
        if style is None:
            paths = np.repeat(np.asarray(cuts)[:, None], y1 - y0, axis=1)
        else:
            paths = np.stack([drop_fall(mask, cut, *style) for cut in cuts])
            paths = np.maximum.accumulate(paths, axis=0)  # cuts never cross: each part lies between two
        part = (xs[None, :] >= paths[:, ys]).sum(axis=0)
        for k in np.unique(part):
            sel = part == k
            centre = x0 + (int(xs[sel].min()) + int(xs[sel].max()) + 1) / 2
            pieces.append((centre, int(c), ys[sel] + y0, xs[sel] + x0, int(k)))
    pieces.sort(key=lambda piece: (piece[0], piece[1], piece[4]))
    owner = np.full(labels.shape, -1, np.int32)
    for atom, (_, _, ys, xs, _) in enumerate(pieces):
        owner[ys, xs] = atom
    return owner, [c for _, c, _, _, _ in pieces]


def straddling(components: Sequence[int]) -> np.ndarray:
    """For each boundary b (between atoms b-1 and b, 0..n): how many pieces of ink it cuts in two,
    i.e. have atoms on both sides (atoms of one piece need not be consecutive: a 5's flag sorts
    between the pieces of its body)."""
    count = np.zeros(len(components) + 2, np.int64)
    for c in set(components):
        where = [i for i, other in enumerate(components) if other == c]
        count[where[0] + 1] += 1
        count[where[-1] + 1] -= 1
    return np.cumsum(count)[:len(components) + 1]


def column_extent(mask: np.ndarray) -> np.ndarray:
    """Per column, the height from its topmost to its bottommost ink pixel (0: no ink)."""
    inked = mask.any(axis=0)
    top = np.argmax(mask, axis=0)
    bottom = mask.shape[0] - np.argmax(mask[::-1], axis=0)
    return np.where(inked, bottom - top, 0)


def cut_columns(profile: np.ndarray, line_height: float) -> list[int]:
    """Where to try cutting a wide piece: the deepest valleys of its column extent, spaced apart.

    Two digits that touch meet at a point or a short bridge: there a column holds ink over a
    short height, while through the middle of a round digit (0, 3, 8) it spans the whole digit
    from its top stroke to its bottom one. (Ink pixels per column would put the deepest valley
    in the middle of an 8 or a 0, where only the thin strokes cross.)
    """
    width = len(profile)
    window = max(1, int(round(0.04 * line_height)))
    smooth = np.convolve(profile.astype(np.float64), np.ones(2 * window + 1) / (2 * window + 1), mode="same")
    margin = max(2, int(0.08 * width))
    spacing = max(2, int(CUT_SPACING * line_height))
    inner = np.arange(margin, width - margin)
    if len(inner) == 0:
        return []
    reach = max(1, spacing // 2)
    padded = np.pad(smooth, reach, constant_values=np.inf)
    local_min = np.ones(len(inner), bool)
    for shift in range(-reach, reach + 1):
        if shift:
            local_min &= smooth[inner] <= padded[inner + reach + shift]
    chosen: list[int] = []
    limit = max(1, min(MAX_DIGITS, int(MAX_CUTS_PER_HEIGHT * width / line_height)))
    for column in inner[local_min][np.argsort(smooth[inner][local_min], kind="stable")]:
        if all(abs(column - other) >= spacing for other in chosen):
            chosen.append(int(column))
        if len(chosen) >= limit:
            break
    if not chosen and NO_VALLEY_MIDDLE:  # digits pressed together leave no valley: try the middle
        chosen.append(width // 2)
    # The valley's bottom is where the digits meet only roughly: also cut a little to either side.
    nudge = max(1, int(round(CUT_NUDGE * line_height)))
    around = {c + d for c in chosen for d in (-nudge, 0, nudge) if margin <= c + d < width - margin}
    return sorted(around)


def atom_boxes(owner: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding box (x0, y0, x1, y1 exclusive) of each atom id 0..n-1."""
    ys, xs = np.nonzero(owner >= 0)
    which = owner[ys, xs]
    count = int(which.max()) + 1 if len(which) else 0
    boxes = []
    for atom in range(count):
        sel = which == atom
        boxes.append((int(xs[sel].min()), int(ys[sel].min()), int(xs[sel].max()) + 1, int(ys[sel].max()) + 1))
    return boxes


def make_candidate(ink: np.ndarray, owner: np.ndarray, boxes: Sequence[tuple[int, int, int, int]],
                   pieces: Sequence[int], split: np.ndarray, first: int, last: int,
                   line_height: float) -> Candidate | None:
    """Atoms [first, last) as one digit, with its geometric prior; None if it cannot be one digit."""
    group = boxes[first:last]
    x0, y0 = min(b[0] for b in group), min(b[1] for b in group)
    x1, y1 = max(b[2] for b in group), max(b[3] for b in group)
    width, height = x1 - x0, y1 - y0
    if width > MAX_WIDTH * line_height and last - first > 1:
        return None
    prior = DIGIT_BONUS - CUT_COST * (split[first] + split[last]) / 2
    reach = group[0][2]
    for i, box in enumerate(group[1:], start=first + 1):
        gap = box[0] - reach
        if pieces[i] not in pieces[first:i] and gap > 0:
            if gap > MAX_INNER_GAP * line_height:
                return None
            prior -= GAP_COST * gap / line_height
        reach = max(reach, box[2])
    if height < FRAGMENT_HEIGHT * line_height:
        prior -= FRAGMENT_COST
    if width > WIDE_ASPECT * height:
        prior -= WIDE_COST * (width / height - WIDE_ASPECT)
    mine = owner[y0:y1, x0:x1]
    inside = (mine >= first) & (mine < last)
    return Candidate(first, last, (x0, y0, x1, y1), np.where(inside, ink[y0:y1, x0:x1], 0).astype(np.uint8), prior)


def best_reading(atoms: int, candidates: Sequence[Candidate], confidences: Sequence[float]) -> list[int]:
    """Indices into ``candidates`` of the best partition of atoms 0..atoms-1, left to right.

    A candidate's score is log(confidence) + prior; a partition's is the sum over its digits.
    Candidates that could not be classified carry confidence 0 (never chosen unless forced).
    """
    best = np.full(atoms + 1, -np.inf)
    best[0] = 0.0
    choice = [-1] * (atoms + 1)
    ending: list[list[int]] = [[] for _ in range(atoms + 1)]
    for index, candidate in enumerate(candidates):
        ending[candidate.last].append(index)
    for end in range(1, atoms + 1):
        for index in ending[end]:
            candidate = candidates[index]
            score = best[candidate.first] + np.log(max(float(confidences[index]), 1e-12)) + candidate.prior
            if score > best[end]:
                best[end], choice[end] = score, index
    if choice[atoms] < 0:
        return []
    reading = []
    end = atoms
    while end > 0:
        reading.append(choice[end])
        end = candidates[choice[end]].first
    return reading[::-1]
