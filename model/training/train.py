"""Train the MLP on MNIST: ``python -m model.training.train --help`` (defaults: the shipped recipe).

``train(config, data)`` is the reusable part (the admin retrain calls it with extra
images); ``main`` adds the command line, the test evaluation and the files: the
weights (``MLP.save``, atomic) and the model card JSON next to them.

The epoch is meant to be spent in matrix products: each batch is gathered from
the training set into a preallocated buffer, the loss layer's softmax is reused
for the accuracy, and only the validation set is evaluated between epochs.
"""
from __future__ import annotations

import sys

if __name__ == "__main__":  # before NumPy is imported: BLAS reads its thread count once
    from model.training.blas import apply_threads_flag

    apply_threads_flag(sys.argv[1:], augments_by_default=True)  # TrainConfig's default

import argparse
import dataclasses
import math
import os
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Sequence

import numpy as np

from model.artifacts.card import card_path_for, data_description, save_model_and_card, strip_arrays
from model.nn.metrics import classification_report, loss_and_accuracy
from model.nn.network import ACTIVATIONS, MLP
from model.nn.optim import SCHEDULES, Adam, SGD, make_schedule
from model.training.progress import ProgressBar, SilentProgress, TrainingProgress

DEFAULT_OUT = Path("weights/mlp.npz")
DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3}
# Distinct random streams derived from the one seed, so changing e.g. the
# validation split never changes the initial weights.
SPLIT_STREAM, SHUFFLE_STREAM, AUGMENT_STREAM = 10, 11, 12


@dataclass
class TrainConfig:
    """Every knob of a training run; stored verbatim in the model card.

    The defaults are the shipped model's recipe (see docs/benchmarks.md, "Shipped model"):
    784-800-800-10, Adam, cosine over 60 epochs, augmented batches; about 6 minutes on
    2 cores. ``REFERENCE`` and ``QUICK`` below are the small plain recipes.
    """

    hidden: tuple[int, ...] = (800, 800)
    activation: str = "relu"
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float | None = None  # None: 0.1 for SGD, 1e-3 for Adam
    momentum: float = 0.9
    nesterov: bool = True
    schedule: str = "cosine"
    step_size: int = 5
    gamma: float = 0.5
    warmup: float = 0.0
    min_lr: float = 0.0
    batch_size: int = 128
    epochs: int = 60
    weight_decay: float = 1e-4
    seed: int = 0
    val_size: int = 5000
    limit: int | None = None
    keep_best: bool = True
    # Strengths for model.training.augment.AugmentConfig ({}: its defaults); None: no augmentation.
    augment: dict[str, Any] | None = field(default_factory=dict)
    # 10 digits, or 11 with a "not a digit" output (label 10; model.training.honest).
    num_classes: int = 10

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.lr is None:
            self.lr = DEFAULT_LR.get(self.optimizer, 0.1)
        problems = []
        if not self.hidden or any(h < 1 for h in self.hidden):
            problems.append(f"hidden sizes must be positive integers, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.optimizer not in DEFAULT_LR:
            problems.append(f"optimizer must be one of {sorted(DEFAULT_LR)}, got {self.optimizer!r}")
        if not self.lr > 0:
            problems.append(f"learning rate must be positive, got {self.lr}")
        if not 0.0 <= self.momentum < 1.0:
            problems.append(f"momentum must be in [0, 1), got {self.momentum}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if self.step_size < 1:
            problems.append(f"step size must be at least 1 epoch, got {self.step_size}")
        if not 0.0 < self.gamma <= 1.0:
            problems.append(f"gamma must be in (0, 1], got {self.gamma}")
        if self.warmup < 0 or self.min_lr < 0 or self.weight_decay < 0:
            problems.append("warmup, min_lr and weight decay cannot be negative")
        if self.batch_size < 1 or self.epochs < 1:
            problems.append("batch size and epochs must be at least 1")
        if self.val_size < 0:
            problems.append(f"validation size cannot be negative, got {self.val_size}")
        if self.limit is not None and self.limit < 2:
            problems.append(f"limit must be at least 2 images, got {self.limit}")
        if self.num_classes not in (10, 11):
            problems.append(f"num_classes must be 10 or 11 (digits + not a digit), got {self.num_classes}")
        if problems:
            raise ValueError("; ".join(problems))
        if self.augment is not None:
            self.augment = augment_settings(self.augment)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out


class Split(NamedTuple):
    """Flat float32 features in [0, 1] and integer labels, ready for the network."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray


def as_features(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (n, 28, 28) or (n, 784), or floats in [0, 1] -> float32 (n, 784)."""
    images = np.asarray(images)
    flat = images.reshape(len(images), -1)
    if flat.shape[1] != 784:
        raise ValueError(f"expected 28x28 images (784 pixels each), got shape {images.shape}")
    if images.dtype == np.uint8:
        return np.divide(flat, 255, dtype=np.float32)
    if images.dtype.kind != "f":
        raise ValueError(f"images must be uint8 or floats in [0, 1], got {images.dtype}")
    flat = flat.astype(np.float32, copy=False)
    if flat.size and (not np.all(np.isfinite(flat)) or flat.min() < 0 or flat.max() > 1):
        raise ValueError("float images must hold finite values in [0, 1]")
    return flat


def as_labels(labels: np.ndarray, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"expected {n} labels, got shape {labels.shape}")
    if labels.dtype.kind not in "iu" or (n and (labels.min() < 0 or labels.max() > 9)):
        raise ValueError("labels must be integers 0-9")
    return labels.astype(np.intp)


def split_train_val(
    images: np.ndarray, labels: np.ndarray, val_size: int, seed: int, limit: int | None = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> Split:
    """A seeded random validation split; ``extra`` images only ever join the training part.

    With ``limit`` only a random ``limit`` of the images are used, and the validation
    part shrinks to at most a fifth of them.
    """
    images = np.asarray(images)
    y = as_labels(labels, len(images))
    order = np.random.default_rng([seed, SPLIT_STREAM]).permutation(len(images))
    if limit is not None:
        order = order[:limit]
        val_size = min(val_size, len(order) // 5)
    if val_size >= len(order):
        raise ValueError(f"validation size {val_size} leaves no training images out of {len(order)}")
    val_idx, train_idx = np.sort(order[:val_size]), np.sort(order[val_size:])
    # Select first, convert after: a --limit run never converts all 60,000 images.
    train_x, train_y = as_features(images[train_idx]), y[train_idx]
    if extra is not None:
        ex = as_features(extra[0])
        ey = as_labels(extra[1], len(ex))
        train_x, train_y = np.concatenate([train_x, ex]), np.concatenate([train_y, ey])
    return Split(train_x, train_y, as_features(images[val_idx]), y[val_idx])


def _as_split(data: Any, config: TrainConfig, extra: tuple[np.ndarray, np.ndarray] | None) -> Split:
    if isinstance(data, Split):
        if extra is not None:
            raise ValueError("pass extra images with the raw data, not with a ready Split")
        return data
    if hasattr(data, "train_images"):  # model.data.Mnist
        images, labels = data.train_images, data.train_labels
    else:
        images, labels = data
    return split_train_val(images, labels, config.val_size, config.seed, config.limit, extra)


def make_optimizer(model: MLP, config: TrainConfig) -> SGD | Adam:
    if config.optimizer == "adam":
        return Adam(model.params(), lr=config.lr, weight_decay=config.weight_decay)
    return SGD(model.params(), lr=config.lr, momentum=config.momentum,
               weight_decay=config.weight_decay, nesterov=config.nesterov and config.momentum > 0)


def _batches(
    x: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
    xbuf: np.ndarray, ybuf: np.ndarray,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Gather each batch of the shuffled order into the same preallocated buffers.

    mode="clip" avoids the internal copy that np.take makes with out= in "raise" mode;
    the indices come from a permutation, so they are always in range.
    """
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        m = len(idx)
        np.take(x, idx, axis=0, out=xbuf[:m], mode="clip")
        np.take(y, idx, out=ybuf[:m], mode="clip")
        yield xbuf[:m], ybuf[:m]


def _train_epoch(
    model: MLP, optimizer: SGD | Adam, schedule: Any, batches: Iterator[tuple[np.ndarray, np.ndarray]],
    epoch: int, steps: int, progress: TrainingProgress,
) -> tuple[float, float]:
    """One pass over the batches; returns the running training loss and accuracy.

    The accuracy comes from the logits of the training forward pass (dropout and
    augmentation on), so measuring it costs one argmax per batch, no second pass.
    """
    loss_sum = 0.0
    correct = 0
    seen = 0
    for step, (xb, yb) in enumerate(batches):
        optimizer.lr = schedule(epoch + step / steps)
        logits = model.forward(xb, train=True)
        loss = model.loss(logits, yb)
        model.backward()
        optimizer.step()
        m = len(yb)
        loss_sum += loss * m
        correct += int(np.count_nonzero(logits.argmax(axis=1) == yb))
        seen += m
        progress.update(step + 1, loss_sum / seen, correct / seen)
    return loss_sum / seen, correct / seen


def train(
    config: TrainConfig,
    data: Any,
    progress: bool | TrainingProgress = True,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    init: MLP | None = None,
) -> tuple[MLP, dict[str, Any]]:
    """Train a fresh MLP (or go on training ``init``, whose layer sizes must match); returns it (best validation epoch's parameters unless keep_best is off).

    ``data``: a ``model.data.Mnist`` (its training images are split into training and
    validation), an ``(images, labels)`` pair of arrays treated the same way, or a
    ready ``Split``. ``extra``: more ``(images, labels)`` mixed into the training part.
    The same config and data give the same weights, bit for bit (same BLAS thread count).
    """
    split = _as_split(data, config, extra)
    if isinstance(progress, bool):
        progress = ProgressBar() if progress else SilentProgress()
    model = MLP(hidden_sizes=config.hidden, activation=config.activation,
                dropout=config.dropout, seed=config.seed, num_classes=config.num_classes)
    if init is not None:
        model.load_state(init.state())  # raises ModelFileError on a size mismatch
    optimizer = make_optimizer(model, config)
    schedule = make_schedule(config.schedule, config.lr, config.epochs, step_size=config.step_size,
                             gamma=config.gamma, warmup=config.warmup, min_lr=config.min_lr)
    shuffle_rng = np.random.default_rng([config.seed, SHUFFLE_STREAM])

    n = len(split.train_x)
    batch_size = min(config.batch_size, n)
    steps = math.ceil(n / batch_size)
    xbuf = np.empty((batch_size, split.train_x.shape[1]), dtype=np.float32)
    ybuf = np.empty(batch_size, dtype=np.intp)
    has_val = len(split.val_x) > 0
    augmented = None
    if config.augment is not None:
        from model.training.augment import BackgroundBatches

        # Its own stream, used only by the prefetch thread, in order: deterministic.
        augmented = BackgroundBatches(split.train_x, split.train_y, batch_size,
                                      np.random.default_rng([config.seed, AUGMENT_STREAM]),
                                      _augment_config(config.augment))
    records: list[dict[str, Any]] = []
    best: tuple[float, float] | None = None
    best_state: dict[str, np.ndarray] | None = None
    best_epoch: int | None = None
    run_start = time.perf_counter()

    for epoch in range(config.epochs):
        start = time.perf_counter()
        progress.start_epoch(epoch, config.epochs, steps)
        if augmented is not None:
            batches: Iterator[tuple[np.ndarray, np.ndarray]] = iter(augmented)
        else:
            batches = _batches(split.train_x, split.train_y, shuffle_rng.permutation(n), batch_size, xbuf, ybuf)
        train_loss, train_acc = _train_epoch(model, optimizer, schedule, batches, epoch, steps, progress)
        train_seconds = time.perf_counter() - start
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "lr": float(optimizer.lr),
            "train_loss": train_loss,
            "train_accuracy": train_acc,
            "val_loss": None,
            "val_accuracy": None,
        }
        if not np.isfinite(record["train_loss"]):
            raise FloatingPointError(
                f"training diverged in epoch {epoch + 1} (loss {record['train_loss']}); lower the learning rate"
            )
        is_best = False
        if has_val:
            val_loss, val_acc = loss_and_accuracy(model, split.val_x, split.val_y)
            record["val_loss"], record["val_accuracy"] = val_loss, val_acc
            key = (val_acc, -val_loss)
            if best is None or key > best:
                best, best_epoch, is_best = key, epoch + 1, True
                if config.keep_best:
                    best_state = model.state()
        record["train_seconds"] = train_seconds
        record["seconds"] = time.perf_counter() - start
        records.append(record)
        progress.end_epoch(record, is_best)

    kept_epoch = config.epochs
    if config.keep_best and best_state is not None and best_epoch != config.epochs:
        model.load_state(best_state)
        kept_epoch = best_epoch  # type: ignore[assignment]
    history = {
        "epochs": records,
        "best_epoch": best_epoch,
        "kept_epoch": kept_epoch,
        "train_seconds": time.perf_counter() - run_start,
        "train_size": n,
        "val_size": len(split.val_x),
        "extra_size": 0 if extra is None else len(extra[0]),
        "steps_per_epoch": steps,
    }
    return model, history


def _augment_config(strengths: dict[str, Any]):
    """model.training.augment.AugmentConfig from JSON-friendly strengths (scale as a list)."""
    from model.training.augment import AugmentConfig

    strengths = dict(strengths)
    if "scale" in strengths:
        strengths["scale"] = tuple(strengths["scale"])
    try:
        return AugmentConfig(**strengths)
    except TypeError as exc:
        raise ValueError(f"unknown augmentation setting ({exc})") from None


def augment_settings(strengths: dict[str, Any]) -> dict[str, Any]:
    """Every strength of model.training.augment.AugmentConfig, defaults filled in (raises ValueError)."""
    out = dataclasses.asdict(_augment_config(strengths))
    out["scale"] = list(out["scale"])
    return out


# -- command line -------------------------------------------------------------------------


def parse_hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.replace("-", ",").split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes must look like 256,128 (got {text!r})") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive (got {text!r})")
    return sizes


# The plain recipe without augmentation: 784-256-128-10, SGD Nesterov, 15 epochs, ~98.4%.
REFERENCE = dict(hidden=(256, 128), optimizer="sgd", lr=0.1, epochs=15, augment=None)
# --quick: the reference recipe cut to 6 epochs, 98.1-98.3% in a few seconds.
QUICK = dict(REFERENCE, epochs=6)


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The training knobs, shared by ``model.training.train`` and ``model.training.evaluate --kfold``."""
    d = TrainConfig()
    g = parser.add_argument_group("network")
    g.add_argument("--hidden", type=parse_hidden, default=d.hidden, help="hidden layer sizes, e.g. 256,128")
    g.add_argument("--activation", choices=sorted(ACTIVATIONS), default=d.activation)
    g.add_argument("--dropout", type=float, default=d.dropout, help="dropout after each hidden layer")
    g = parser.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=sorted(DEFAULT_LR), default=d.optimizer)
    g.add_argument("--lr", type=float, default=None, help="initial learning rate; None: 0.1 for sgd, 1e-3 for adam")
    g.add_argument("--momentum", type=float, default=d.momentum, help="SGD momentum")
    g.add_argument("--no-nesterov", dest="nesterov", action="store_false", help="plain momentum instead of Nesterov")
    g.add_argument("--schedule", choices=SCHEDULES, default=d.schedule, help="learning-rate schedule")
    g.add_argument("--step-size", type=int, default=d.step_size, help="epochs between steps (step schedule)")
    g.add_argument("--gamma", type=float, default=d.gamma, help="decay factor (step: per step, exp: per epoch)")
    g.add_argument("--warmup", type=float, default=d.warmup, help="epochs of linear warm-up")
    g.add_argument("--min-lr", type=float, default=d.min_lr, help="final learning rate of the cosine schedule")
    g.add_argument("--batch-size", type=int, default=d.batch_size)
    g.add_argument("--epochs", type=int, default=d.epochs)
    g.add_argument("--weight-decay", type=float, default=d.weight_decay, help="L2 on weights (not biases)")
    g = parser.add_argument_group("data")
    g.add_argument("--seed", type=int, default=d.seed, help="one seed for init, split, shuffling, dropout")
    g.add_argument("--val-size", type=int, default=d.val_size,
                   help="training images held out for validation (and best-epoch selection)")
    g.add_argument("--limit", type=int, default=None,
                   help="use only a random N of the 60k training images (quick runs)")
    g.add_argument("--no-keep-best", dest="keep_best", action="store_false",
                   help="keep the last epoch's parameters instead of the best validation epoch's")
    g = parser.add_argument_group("augmentation (model.training.augment; each strength defaults to AugmentConfig's)")
    g.add_argument("--augment", choices=("off", "on"), default="on" if d.augment is not None else "off",
                   help="random affine + elastic + stroke-width distortion of every batch")
    for flag, kind, text in AUGMENT_FLAGS:
        g.add_argument(flag, type=kind, default=None, help=text)
    g.add_argument("--mnist-dir", default=None, help="folder holding the four MNIST files (default: env MNIST_DIR)")
    g.add_argument("--cache-dir", default=None, help="MNIST cache folder (default: ~/.cache/digit-canvas)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads; None: every core, one less when augmenting "
                             "(set before NumPy loads)")
    parser.add_argument("--quick", action="store_true",
                        help="preset that reaches 98%% in well under a minute: "
                             + ", ".join(f"{k}={v}" for k, v in QUICK.items()))


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    augment = _augment_from_args(args)
    return TrainConfig(
        hidden=args.hidden, activation=args.activation, dropout=args.dropout, optimizer=args.optimizer,
        lr=args.lr, momentum=args.momentum, nesterov=args.nesterov, schedule=args.schedule,
        step_size=args.step_size, gamma=args.gamma, warmup=args.warmup, min_lr=args.min_lr,
        batch_size=args.batch_size, epochs=args.epochs, weight_decay=args.weight_decay, seed=args.seed,
        val_size=args.val_size, limit=args.limit, keep_best=args.keep_best, augment=augment,
    )


def _augment_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    given = {flag: getattr(args, _dest(flag)) for flag, _, _ in AUGMENT_FLAGS}
    given = {flag: value for flag, value in given.items() if value is not None}
    if args.augment == "off":
        if given:
            raise ValueError(f"{', '.join(given)} given but --augment is off (add --augment on)")
        return None
    return {_dest(flag)[4:]: value for flag, value in given.items()}


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def _pair(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LO,HI, e.g. 0.9,1.1 (got {text!r})") from None
    return lo, hi


# (flag, type, help); the flag minus "--aug-" with "_" is the AugmentConfig field.
AUGMENT_FLAGS = (
    ("--aug-rotation-deg", float, "rotation angle ~ U(-r, r) degrees"),
    ("--aug-scale", _pair, "isotropic scale ~ U(LO, HI), e.g. 0.9,1.1"),
    ("--aug-shear", float, "horizontal shear ~ U(-s, s)"),
    ("--aug-shift-px", float, "shift per axis ~ U(-s, s) pixels"),
    ("--aug-elastic-alpha", float, "elastic displacement scale in pixels (0: off)"),
    ("--aug-elastic-sigma", float, "smoothness of the elastic field in pixels"),
    ("--aug-stroke-fraction", float, "share of images whose stroke width changes"),
    ("--aug-thicken-max", float, "thicken: blend towards 3x3 dilation ~ U(0, t)"),
    ("--aug-thin-max", float, "thin: blend towards 3x3 erosion ~ U(0, t)"),
)


def parse_training_args(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse, letting --quick set defaults that explicit flags still override."""
    if "--quick" in argv:
        parser.set_defaults(**{k: ("off" if k == "augment" and v is None else v) for k, v in QUICK.items()})
    return parser.parse_args(argv)


def load_data(args: argparse.Namespace):
    from model.data.mnist import MnistUnavailable, load_mnist

    try:
        return load_mnist(source_dir=args.mnist_dir, cache_dir=args.cache_dir, progress=True)
    except MnistUnavailable as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m model.training.train", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train the MLP on MNIST. The defaults are the shipped model's recipe "
                    "(784-800-800-10, Adam, 60 augmented epochs, about 6 minutes on 2 cores); "
                    "--quick trains a small plain model in seconds.")
    add_training_arguments(parser)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="weights file to write (the model card goes next to it, .json)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def train_and_save(
    config: TrainConfig, mnist: Any, out: str | os.PathLike, *, command: str | None = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None, progress: bool | TrainingProgress = True,
) -> tuple[MLP, dict[str, Any]]:
    """What ``python -m model.training.train`` does after parsing its flags, for other programs too
    (the admin retrain): split, train (with ``extra`` images mixed into the training part),
    evaluate on the test set, write the weights and the model card. Returns (model, card)."""
    split = split_train_val(mnist.train_images, mnist.train_labels, config.val_size, config.seed,
                            config.limit, extra)
    test_x, test_y = as_features(mnist.test_images), as_labels(mnist.test_labels, len(mnist.test_labels))
    model, history = train(config, split, progress=progress)
    extra_size = 0 if extra is None else len(extra[0])
    history["extra_size"] = extra_size
    validation = strip_arrays(classification_report(model, split.val_x, split.val_y)) if len(split.val_x) else None
    card = save_model_and_card(model, {
        "config": config, "history": history, "command": command,
        "data": data_description(mnist, config, split, test_x, test_y, extra_size),
        "test": strip_arrays(classification_report(model, test_x, test_y)), "validation": validation,
    }, Path(out))
    return model, card


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parse_training_args(parser, argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    mnist = load_data(args)
    _, card = train_and_save(config, mnist, args.out, command="python -m model.training.train " + shlex.join(argv),
                             progress=not args.quiet)
    val = card["validation_accuracy"]
    print(
        f"{card['version']}: {'' if val is None else f'validation {val:.2%}, '}test {card['test_accuracy']:.2%} "
        f"(epoch {card['kept_epoch']} kept) in {card['training_seconds']:.1f}s "
        f"-> {args.out} + {card_path_for(args.out)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
