"""Train the honest model: MNIST + the project's drawn digits + non-digits (an 11th output), calibrated.

    python -m model.training.honest --init weights/mlp.npz --out weights/mlp.npz     # the shipped recipe
    python -m model.training.honest --quick --out /tmp/honest.npz                    # minutes, small net

What it adds to ``model.training.train`` (same TrainConfig, same train(), same augmentation):

1. training data: MNIST's training split plus stroke-drawn digits of the training family, digits
   typed in the training fonts, and non-digits of the training families labelled 10 ("not a
   digit": outlier exposure with an explicit class), all through /predict's preprocessing;
2. ``--init``: start from an existing 10-output model (the shipped one) widened to 11 outputs
   (the new output starts at zero weight) instead of from random weights;
3. temperature scaling fitted on the validation split's digits (MNIST validation + drawn
   validation digits), stored in the weights file's metadata and the card;
4. the card's ``honesty`` section: the held-out sets (other seeds, other families) measured
   in-process with the verdict rule the server uses (model.nn.verdict) - bench/honesty.py
   measures the same through the HTTP API.
"""
from __future__ import annotations

import sys

if __name__ == "__main__":  # before NumPy is imported: BLAS reads its thread count once
    from model.training.blas import apply_threads_flag

    apply_threads_flag(sys.argv[1:], augments_by_default=True)

import argparse
import shlex
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from model.artifacts.card import card_path_for, data_description, save_model_and_card, strip_arrays
from model.data import honest
from model.nn.calibration import ECE_BINS, fit_temperature, logits, reliability
from model.nn.layers import softmax
from model.nn.metrics import classification_report
from model.nn.network import MLP
from model.nn.verdict import decide
from model.training.train import (
    Split, add_training_arguments, as_features, config_from_args, load_data, parse_training_args, split_train_val,
    train,
)

NUM_CLASSES = 11
# Sizes of the drawn data (per digit / per family); --quick divides them by 4.
SIZES = {"per_digit": 1200, "typed_per_digit": 150, "nondigits_per_family": 600,
         "val_per_digit": 60, "val_nondigits_per_family": 30}


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


def build_split(mnist: Any, config: Any, sizes: dict[str, int]) -> tuple[Split, honest.DrawnSet, dict[str, int]]:
    """MNIST's seeded split, with the drawn training set added to the training part and a drawn
    validation set (training families, another seed) added to the validation part."""
    base = split_train_val(mnist.train_images, mnist.train_labels, config.val_size, config.seed, config.limit)
    mnist_train_u8 = np.round(base.train_x * 255).astype(np.uint8).reshape(-1, 28, 28)
    drawn = honest.training_set(config.seed, mnist_train_u8, sizes["per_digit"], sizes["typed_per_digit"],
                                sizes["nondigits_per_family"])
    val = honest.training_set(config.seed + 1, mnist_train_u8, sizes["val_per_digit"], 0,
                              sizes["val_nondigits_per_family"])
    split = Split(np.concatenate([base.train_x, drawn.x]), np.concatenate([base.train_y, drawn.y]),
                  np.concatenate([base.val_x, val.x]), np.concatenate([base.val_y, val.y]))
    counts = {"mnist_train": len(base.train_y), "drawn_digits": int(np.sum(drawn.y < 10)),
              "nondigits": int(np.sum(drawn.y == 10)), "mnist_val": len(base.val_y),
              "drawn_val_digits": int(np.sum(val.y < 10)), "val_nondigits": int(np.sum(val.y == 10))}
    return split, drawn, counts


def calibrate(model: MLP, val_x: np.ndarray, val_y: np.ndarray) -> float:
    """Temperature over the 10 digit outputs, fitted on the validation digits."""
    digits = val_y < 10
    return fit_temperature(logits(model, val_x[digits])[:, :10], val_y[digits])


def outputs(model: MLP, x: np.ndarray, temperature: float) -> np.ndarray:
    return softmax(logits(model, x) / np.float32(temperature))


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model.training.honest",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     description=__doc__.split("\n")[0])
    add_training_arguments(parser)
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this weights file (10 outputs are widened to 11) instead of random weights")
    parser.add_argument("--drawn-scale", type=float, default=1.0, help="multiply the drawn data's sizes")
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (card beside it, .json)")
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parse_training_args(parser, argv)
    args.num_classes = NUM_CLASSES
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    config.num_classes = NUM_CLASSES
    scale = args.drawn_scale * (0.25 if args.quick else 1.0)
    sizes = {k: max(1, int(round(v * scale))) for k, v in SIZES.items()}
    init, init_sha = None, None
    if args.init is not None:
        loaded = MLP.load(args.init)
        init, init_sha = widen_to_not_digit(loaded), loaded.sha256
        if tuple(init.spec["hidden_sizes"]) != tuple(config.hidden):
            parser.error(f"--init {args.init} has hidden sizes {init.spec['hidden_sizes']}, not --hidden {config.hidden}")
    mnist = load_data(args)
    start = time.perf_counter()
    split, drawn, counts = build_split(mnist, config, sizes)
    print(f"drawn data built in {time.perf_counter() - start:.0f}s: {counts}", flush=True)
    model, history = train(config, split, progress=not args.quiet, init=init)
    temperature = calibrate(model, split.val_x, split.val_y)
    test_x, test_y = as_features(mnist.test_images), mnist.test_labels.astype(np.intp)
    sets = held_out_sets(mnist, test_x, test_y)
    report = honesty_report(model, temperature, sets)
    val_digits = split.val_y < 10
    val_z = logits(model, split.val_x[val_digits])[:, :10]
    calibration = {
        "method": "temperature scaling of the 10 digit logits, fitted on the validation split's digits",
        "temperature": temperature, "bins": ECE_BINS, "fitted_on": int(val_digits.sum()),
        "validation_ece_before": reliability(softmax(val_z).max(axis=1), val_z.argmax(axis=1) == split.val_y[val_digits])["ece"],
        "validation_ece_after": reliability(softmax(val_z / np.float32(temperature)).max(axis=1),
                                            val_z.argmax(axis=1) == split.val_y[val_digits])["ece"],
    }
    history["extra_size"] = counts["drawn_digits"] + counts["nondigits"]
    data = data_description(mnist, config, split, test_x, test_y, history["extra_size"])
    data["drawn"] = {**counts, "sizes": sizes, "generators": "model.data.strokes, model.data.nondigits",
                     "train_seed_base": honest.TRAIN_SEED_BASE, "held_out_seed_base": honest.HELD_OUT_SEED_BASE}
    card = save_model_and_card(model, {
        "config": config, "history": history,
        "command": "python -m model.training.honest " + shlex.join(argv), "data": data,
        "test": strip_arrays(classification_report(model, test_x, test_y)),
        "validation": strip_arrays(classification_report(model, split.val_x, split.val_y)),
        "metadata": {"calibration": {"temperature": temperature},
                     "outputs": [str(d) for d in range(10)] + ["not_a_digit"]},
        "extra": {"calibration": calibration, "honesty": report,
                  "init": None if args.init is None else {"path": str(args.init), "sha256": init_sha}},
    }, args.out)
    print(f"{card['version']}: test {card['test_accuracy']:.2%} (11-way), T = {temperature:.3f} "
          f"-> {args.out} + {card_path_for(args.out)}")
    for name, entry in report.items():
        figures = {k: v for k, v in entry.items() if k not in ("by_family",)}
        print(f"  {name}: {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
