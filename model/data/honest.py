"""The project's own drawn sets, as the network sees them (28x28 after /predict's preprocessing).

Training side: stroke-drawn digits of the training family (model.data.strokes), digits typed in
the training fonts (DejaVu), and non-digits of the training families (model.data.nondigits),
label NOT_A_DIGIT (10). Held-out side: the held-out digit styles, digits typed in the held-out
fonts (Liberation), and non-digits of the held-out families, from other seeds.

Every image goes through model.imaging.preprocess.preprocess, the function /predict uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from PIL import Image

from model.data import nondigits, strokes
from model.imaging.preprocess import EmptyImage, preprocess

NOT_A_DIGIT = 10
TRAIN_SEED_BASE, HELD_OUT_SEED_BASE = 1000, 2000  # training seeds and held-out seeds never meet


@dataclass
class DrawnSet:
    """Fields (n, 784) float32 as /predict's model sees them, labels (10 = not a digit), and what each is."""

    x: np.ndarray
    y: np.ndarray
    kind: list[str]
    family: list[str]

    def __len__(self) -> int:
        return len(self.y)

    def select(self, mask: np.ndarray) -> "DrawnSet":
        idx = np.flatnonzero(mask)
        return DrawnSet(self.x[idx], self.y[idx], [self.kind[i] for i in idx], [self.family[i] for i in idx])

    def uint8(self) -> np.ndarray:
        """The fields as uint8 (n, 28, 28), the format training takes alongside MNIST."""
        return np.round(self.x * 255).astype(np.uint8).reshape(-1, 28, 28)


def fields(items: Iterable[tuple[str, str, int, Image.Image]]) -> DrawnSet:
    """Preprocess (kind, family, label, drawing) items; a drawing with no ink left is skipped."""
    xs, ys, kinds, fams = [], [], [], []
    for kind, family, label, image in items:
        try:
            xs.append(preprocess(image).vector)
        except EmptyImage:
            continue
        ys.append(label)
        kinds.append(kind)
        fams.append(family)
    return DrawnSet(np.stack(xs).astype(np.float32), np.array(ys, dtype=np.intp), kinds, fams)


def training_digits(seed: int, per_digit: int, typed_per_digit: int = 0) -> Iterable[tuple[str, str, int, Image.Image]]:
    rng = np.random.default_rng([TRAIN_SEED_BASE, seed, 1])
    for _ in range(per_digit):
        for d in range(10):
            yield "digits", "strokes (training family)", d, strokes.training_digit(d, rng)
    fonts = strokes.machine_fonts(nondigits.TRAIN_FONT_FAMILY)
    for _ in range(typed_per_digit):
        for d in range(10):
            path = fonts[int(rng.integers(len(fonts)))]
            yield "digits", "typed DejaVu", d, strokes.typed(str(d), path, int(rng.integers(80, 200)),
                                                              float(rng.normal(0, 6)))


def training_nondigits(seed: int, mnist_digits: np.ndarray, per_family: int) -> Iterable[tuple[str, str, int, Image.Image]]:
    for kind, family, image in nondigits.drawings("train", mnist_digits, TRAIN_SEED_BASE + seed, per_family):
        yield kind, family, NOT_A_DIGIT, image


def training_set(seed: int, mnist_digits: np.ndarray, per_digit: int, typed_per_digit: int,
                 nondigits_per_family: int) -> DrawnSet:
    """Everything drawn that training adds to MNIST (digits 0-9 and non-digits labelled 10)."""
    return fields([*training_digits(seed, per_digit, typed_per_digit),
                   *training_nondigits(seed, mnist_digits, nondigits_per_family)])


def held_out_digit_drawings(seed: int = 0, per_style: int = 10) -> list[tuple[str, str, int, Image.Image]]:
    """The held-out stroke styles (x 3 pen widths) and every held-out font's digits at two sizes, as drawings."""
    items = [("digits", f"strokes: {name}", d, image)
             for name, d, image in strokes.held_out_digits(HELD_OUT_SEED_BASE + seed, per_style)]
    for path in strokes.machine_fonts(nondigits.HELD_OUT_FONT_FAMILY):
        for size in (180, 90):
            items += [("digits", "typed Liberation", d, strokes.typed(str(d), path, size)) for d in range(10)]
    return items


def held_out_nondigit_drawings(mnist_test_digits: np.ndarray, seed: int = 0,
                               per_family: int = 40) -> list[tuple[str, str, int, Image.Image]]:
    return [(kind, family, NOT_A_DIGIT, image) for kind, family, image in
            nondigits.drawings("held_out", mnist_test_digits, HELD_OUT_SEED_BASE + seed, per_family)]


def held_out_digits(seed: int = 0, per_style: int = 10) -> DrawnSet:
    return fields(held_out_digit_drawings(seed, per_style))


def held_out_nondigits(mnist_test_digits: np.ndarray, seed: int = 0, per_family: int = 40) -> DrawnSet:
    return fields(held_out_nondigit_drawings(mnist_test_digits, seed, per_family))
