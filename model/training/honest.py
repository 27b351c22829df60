"""The honest model: MNIST + the project's drawn digits + non-digits (an 11th output), calibrated.

``python -m model.cli.honest`` is its command line. What it adds to model.training.loop.train
(same TrainConfig, same loop, same augmentation):

1. training data: MNIST's training split plus stroke-drawn digits of the training family, digits
   typed in the training fonts, and non-digits of the training families labelled 10 ("not a
   digit": outlier exposure with an explicit class), all through /predict's preprocessing;
2. ``init``: start from an existing 10-output model (the shipped one) widened to 11 outputs
   (the new output starts at zero weight) instead of from random weights;
3. temperature scaling fitted on the validation split's digits (MNIST validation + drawn
   validation digits), stored in the weights file's metadata and the card;
4. the card's ``honesty`` section: the held-out sets (other seeds, other families) measured
   in-process with the verdict rule the server uses (model.nn.verdict) - bench/honesty.py
   measures the same through the HTTP API.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from model.artifacts.card import save_model_and_card, strip_arrays
from model.data import honest
from model.nn.calibration import ECE_BINS, fit_temperature, reliability
from model.nn.layers import softmax
from model.nn.metrics import classification_report
from model.nn.network import MLP
from model.nn.verdict import decide
from model.training import blas
from model.training.config import TrainConfig
from model.training.loop import Split, as_features, data_description, split_train_val, train

NUM_CLASSES = 11
# Sizes of the drawn data (per digit / per family); --quick divides them by 4.
SIZES = {"per_digit": 1200, "typed_per_digit": 150, "nondigits_per_family": 600,
         "val_per_digit": 60, "val_nondigits_per_family": 30}
QUICK_DRAWN_SCALE = 0.25


def drawn_sizes(scale: float = 1.0, quick: bool = False) -> dict[str, int]:
    """SIZES times ``scale`` (a quarter of that for --quick), each at least 1: the one rule for
    every front end (model.cli.honest, the admin retrain), so their --quick runs build the same data."""
    scale *= QUICK_DRAWN_SCALE if quick else 1.0
    return {k: max(1, int(round(v * scale))) for k, v in SIZES.items()}


def widen_to_not_digit(model: MLP) -> MLP:
    """The same network with an 11th output ("not a digit") whose weights and bias start at zero."""
    if model.spec["num_classes"] == NUM_CLASSES:
        return model
    wide = MLP(model.spec["input_size"], model.spec["hidden_sizes"], NUM_CLASSES, model.spec["activation"],
               model.spec["dropout"])
    state = model.state()
    last = len(model.dense) - 1
    w, b = state[f"fc{last}.W"], state[f"fc{last}.b"]
    state[f"fc{last}.W"] = np.concatenate([w, np.zeros((w.shape[0], 1), w.dtype)], axis=1)
    state[f"fc{last}.b"] = np.concatenate([b, np.zeros(1, b.dtype)])
    wide.load_state(state)
    return wide


def build_split(mnist: Any, config: Any, sizes: dict[str, int],
                extra: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Split, honest.DrawnSet, dict[str, int]]:
    """MNIST's seeded split, with the drawn training set added to the training part and a drawn
    validation set (training families, another seed) added to the validation part.

    ``extra``: more (uint8 28x28 images, labels 0-10) for the training part only - the admin
    retrain's feedback drawings (label 10: "not a digit"); counted in ``feedback_*``.
    """
    base = split_train_val(mnist.train_images, mnist.train_labels, config.val_size, config.seed, config.limit)
    mnist_train_u8 = np.round(base.train_x * 255).astype(np.uint8).reshape(-1, 28, 28)
    drawn = honest.training_set(config.seed, mnist_train_u8, sizes["per_digit"], sizes["typed_per_digit"],
                                sizes["nondigits_per_family"])
    val = honest.training_set(config.seed + 1, mnist_train_u8, sizes["val_per_digit"], 0,
                              sizes["val_nondigits_per_family"])
    ex, ey = ((as_features(extra[0]), np.asarray(extra[1], dtype=np.intp)) if extra is not None
              else (np.zeros((0, base.train_x.shape[1]), np.float32), np.zeros(0, np.intp)))
    split = Split(np.concatenate([base.train_x, drawn.x, ex]), np.concatenate([base.train_y, drawn.y, ey]),
                  np.concatenate([base.val_x, val.x]), np.concatenate([base.val_y, val.y]))
    counts = {"feedback_digits": int(np.sum(ey < 10)), "feedback_nondigits": int(np.sum(ey == 10)),
              "mnist_train": len(base.train_y), "drawn_digits": int(np.sum(drawn.y < 10)),
              "nondigits": int(np.sum(drawn.y == 10)), "mnist_val": len(base.val_y),
              "drawn_val_digits": int(np.sum(val.y < 10)), "val_nondigits": int(np.sum(val.y == 10))}
    return split, drawn, counts


def calibrate(model: MLP, val_x: np.ndarray, val_y: np.ndarray) -> float:
    """Temperature over the 10 digit outputs, fitted on the validation digits."""
    digits = val_y < 10
    return fit_temperature(model.logits(val_x[digits])[:, :10], val_y[digits])


def outputs(model: MLP, x: np.ndarray, temperature: float) -> np.ndarray:
    return softmax(model.logits(x) / np.float32(temperature))


def honesty_report(model: MLP, temperature: float, sets: dict[str, honest.DrawnSet]) -> dict[str, Any]:
    """What the verdict does on labelled sets, in-process (the figures bench/honesty.py takes over HTTP).

    For digit sets: accuracy of ``digit``, share of each verdict, ECE (15 bins) of ``confidence``
    at T = 1 and at the fitted T. For non-digit sets: share called not_a_digit, per kind and family.
    """
    report: dict[str, Any] = {}
    for name, s in sets.items():
        verdicts = decide(outputs(model, s.x, temperature), s.x)
        names = Counter(v.verdict for v in verdicts)
        entry: dict[str, Any] = {"n": len(s), "verdicts": {k: names.get(k, 0) / len(s) for k in
                                                            ("digit", "unsure", "not_a_digit")}}
        if np.all(s.y < 10):
            digit = np.array([v.digit for v in verdicts])
            entry["accuracy"] = float(np.mean(digit == s.y))
            raw = outputs(model, s.x, 1.0)[:, :10]
            raw /= raw.sum(axis=1, keepdims=True)
            cal = np.array([v.confidence for v in verdicts])
            entry["ece_before"] = reliability(raw.max(axis=1), raw.argmax(axis=1) == s.y)["ece"]
            entry["ece_after"] = reliability(cal, digit == s.y)["ece"]
            misses = Counter(f"{y}->{d}" for y, d in zip(s.y, digit) if y != d)
            entry["misses"] = dict(misses.most_common(8))
        else:
            rejected = np.array([v.verdict == "not_a_digit" for v in verdicts])
            entry["not_a_digit"] = float(rejected.mean())
            for key, labels in (("by_kind", s.kind), ("by_family", [f"{k}: {f}" for k, f in zip(s.kind, s.family)])):
                groups: dict[str, list[bool]] = defaultdict(list)
                for label, r in zip(labels, rejected):
                    groups[label].append(bool(r))
                entry[key] = {k: float(np.mean(v)) for k, v in sorted(groups.items())}
        report[name] = entry
    return report


def held_out_sets(mnist: Any, mnist_test_x: np.ndarray, mnist_test_y: np.ndarray) -> dict[str, honest.DrawnSet]:
    return {
        "MNIST test": honest.DrawnSet(mnist_test_x, mnist_test_y, ["mnist"] * len(mnist_test_y),
                                      ["mnist test"] * len(mnist_test_y)),
        "drawn digits (held out)": honest.held_out_digits(),
        "non-digits (held out)": honest.held_out_nondigits(mnist.test_images),
    }


def train_and_save_honest(config: TrainConfig, mnist: Any, out: str | Path, *, sizes: dict[str, int],
                          init: MLP | None = None, init_source: dict[str, Any] | None = None,
                          command: str | None = None, progress: bool = True,
                          extra: tuple[np.ndarray, np.ndarray] | None = None,
                          held_out: dict[str, honest.DrawnSet] | None = None) -> tuple[MLP, dict[str, Any]]:
    """Build the drawn data, train, calibrate, measure the held-out sets, write weights + card.

    ``extra`` (uint8 images, labels 0-10) joins the training part (build_split); ``held_out``:
    the sets of held_out_sets when the caller already has them (the admin retrain's gate reuses them).
    """
    config.num_classes = NUM_CLASSES
    start = time.perf_counter()
    split, drawn, counts = build_split(mnist, config, sizes, extra)
    if progress:
        print(f"drawn data built in {time.perf_counter() - start:.0f}s: {counts}", flush=True)
    model, history = train(config, split, progress=progress, init=init)
    temperature = calibrate(model, split.val_x, split.val_y)
    test_x, test_y = as_features(mnist.test_images), mnist.test_labels.astype(np.intp)
    report = honesty_report(model, temperature, held_out or held_out_sets(mnist, test_x, test_y))
    val_digits = split.val_y < 10
    val_z = model.logits(split.val_x[val_digits])[:, :10]
    val_right = val_z.argmax(axis=1) == split.val_y[val_digits]
    calibration = {
        "method": "temperature scaling of the 10 digit logits, fitted on the validation split's digits",
        "temperature": temperature, "bins": ECE_BINS, "fitted_on": int(val_digits.sum()),
        "validation_ece_before": reliability(softmax(val_z).max(axis=1), val_right)["ece"],
        "validation_ece_after": reliability(softmax(val_z / np.float32(temperature)).max(axis=1), val_right)["ece"],
    }
    history["extra_size"] = len(split.train_y) - counts["mnist_train"]  # drawn + feedback
    data = data_description(mnist, config, split, test_x, test_y, history["extra_size"])
    data["drawn"] = {**counts, "sizes": sizes, "generators": "model.data.strokes, model.data.nondigits",
                     "train_seed_base": honest.TRAIN_SEED_BASE, "held_out_seed_base": honest.HELD_OUT_SEED_BASE}
    card = save_model_and_card(model, {
        "config": config, "history": history, "command": command, "data": data,
        "test": strip_arrays(classification_report(model, test_x, test_y)),
        "validation": strip_arrays(classification_report(model, split.val_x, split.val_y)),
        "blas_threads": blas.current_threads(),
        "metadata": {"calibration": {"temperature": temperature},
                     "outputs": [str(d) for d in range(10)] + ["not_a_digit"]},
        "extra": {"calibration": calibration, "honesty": report, "init": init_source},
    }, Path(out))
    return model, card
