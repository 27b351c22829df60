"""From a command line to a TrainConfig: the training flags, the --quick preset and --threads.

``parse_training_argv`` is the one way there, used by every front end that trains
(model.cli.train, model.cli.evaluate --kfold, the admin retrain): it applies --quick as
defaults that explicit flags still override, validates the configuration, and sets the
BLAS thread count (model.training.blas) once the configuration says whether it augments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from model.nn.network import ACTIVATIONS
from model.nn.optim import SCHEDULES
from model.training import blas
from model.training.config import DEFAULT_LR, QUICK, TrainConfig, parse_hidden

if TYPE_CHECKING:
    from model.data.mnist import Mnist

DEFAULT_OUT = Path("weights/mlp.npz")
# QUICK as argparse defaults: its "no augmentation" is the flag value "off".
QUICK_DEFAULTS = {k: ("off" if k == "augment" and v is None else v) for k, v in QUICK.items()}


def add_training_arguments(parser: argparse.ArgumentParser) -> None:
    """The training knobs, shared by ``model.cli.train``, ``model.cli.evaluate --kfold`` and the admin retrain."""
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
                             "(applied after parsing, through threadpoolctl)")
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


def parse_training_argv(
    parser: argparse.ArgumentParser, argv: Sequence[str],
    trains: Callable[[argparse.Namespace], bool] = lambda args: True,
) -> tuple[argparse.Namespace, TrainConfig]:
    """Parse a training command line into its namespace and its validated TrainConfig.

    --quick sets QUICK_DEFAULTS on ``parser`` first (explicit flags still win); a value out of
    range ends the program through ``parser.error`` (exit 2, the message says which); --threads
    (or its default) is applied to BLAS here, the one place, via ``blas.set_threads``: one core
    is left to the augmentation thread when the run ``trains`` with augmentation.
    """
    argv = list(argv)
    if "--quick" in argv:
        parser.set_defaults(**QUICK_DEFAULTS)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    blas.set_threads(args.threads, augmenting=trains(args) and config.augment is not None)
    return args, config


def load_data(args: argparse.Namespace) -> "Mnist":
    """MNIST for a command line (--mnist-dir, --cache-dir); unavailable: the reasons on stderr, exit 2."""
    from model.data.mnist import MnistUnavailable, load_mnist

    try:
        return load_mnist(source_dir=args.mnist_dir, cache_dir=args.cache_dir, progress=True)
    except MnistUnavailable as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
