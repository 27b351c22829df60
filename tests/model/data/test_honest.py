"""The project's own drawn sets: reproducible from a seed, and held-out apart from training.

Held out means other seeds AND other families: no held-out family (digit style, font family,
stroke letter or symbol, shape, scribble, mangling) is a training family, and the held-out
fields share no image with the training fields.
"""
from __future__ import annotations

import numpy as np

from model.data import honest, nondigits, strokes
from model.imaging.preprocess import preprocess

DIGITS = np.zeros((4, 28, 28), np.uint8)
DIGITS[:, 6:22, 12:16] = 255  # stand-ins for MNIST digits (the mangling only needs shapes)


def test_held_out_families_are_not_training_families() -> None:
    train, held = nondigits.families("train", DIGITS), nondigits.families("held_out", DIGITS)
    assert set(train) == set(held) == set(nondigits.KINDS) and len(held) >= 5
    for kind in nondigits.KINDS:
        assert not set(train[kind]) & set(held[kind]), kind
    assert not set(nondigits.TRAIN_STROKE_LETTERS) & set(nondigits.HELD_OUT_STROKE_LETTERS)
    assert not set(nondigits.TRAIN_STROKE_SYMBOLS) & set(nondigits.HELD_OUT_STROKE_SYMBOLS)
    train_fonts = strokes.machine_fonts(nondigits.TRAIN_FONT_FAMILY)
    held_fonts = strokes.machine_fonts(nondigits.HELD_OUT_FONT_FAMILY)
    assert train_fonts and held_fonts and not set(train_fonts) & set(held_fonts)
    assert honest.TRAIN_SEED_BASE != honest.HELD_OUT_SEED_BASE


def test_held_out_digit_styles_are_not_the_training_templates() -> None:
    """The training templates jitter every point: none reproduces a held-out style's strokes."""
    rng = np.random.default_rng(0)
    held = {d: [] for d in range(10)}
    for name, (digit, s) in strokes.HELD_OUT_DIGIT_STYLES.items():
        held[digit].append(np.concatenate([np.asarray(p) for p in s]))
    for digit in range(10):
        for _ in range(50):
            drawn = np.concatenate([np.asarray(p) for p in strokes.training_strokes(digit, rng)])
            for h in held[digit]:
                assert drawn.shape != h.shape or not np.allclose(drawn, h, atol=1e-3)


def test_generators_are_reproducible_from_a_seed_and_differ_across_seeds() -> None:
    def sample(seed: int) -> np.ndarray:
        return np.stack([preprocess(image).vector
                         for _, _, image in nondigits.drawings("train", DIGITS, seed, per_family=1)])
    a, b, c = sample(5), sample(5), sample(6)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_training_and_held_out_fields_share_no_image() -> None:
    train = honest.training_set(0, DIGITS, per_digit=3, typed_per_digit=1, nondigits_per_family=2)
    held_digits = honest.held_out_digits(per_style=1)
    held_non = honest.held_out_nondigits(DIGITS, per_family=2)
    assert set(train.y.tolist()) == set(range(11))
    assert set(held_digits.y.tolist()) == set(range(10)) and set(held_non.y.tolist()) == {honest.NOT_A_DIGIT}
    assert len(set(held_non.kind)) >= 5
    seen = {row.tobytes() for row in train.uint8()}
    assert not any(row.tobytes() in seen for row in np.concatenate([held_digits.uint8(), held_non.uint8()]))
