"""``python -m model.cli.evaluate [weights]`` / ``digit-canvas-evaluate``: test-set report of a weights file.

``... --kfold K [training flags]``: K-fold cross-validation of a configuration on the
60,000 training images instead (model.training.evaluation does the work).

``... --inspect IMAGE [--target D] [--steps N] [--heatmap OUT.png]``: why the model reads one
image as it does (model.cli.inspect).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from model.artifacts import weights_file
from model.artifacts.card import strip_arrays
from model.artifacts.weights_file import ModelFileError
from model.cli.inspect import add_inspect_arguments, run_inspect
from model.nn.metrics import classification_report
from model.training.config import TrainConfig
from model.training.evaluation import confident_errors, cross_validate, format_report, save_error_images
from model.training.loop import as_features, as_labels
from model.training.options import DEFAULT_OUT, add_training_arguments, load_data, parse_training_argv

PROG = "python -m model.cli.evaluate"


def evaluate_weights(args: argparse.Namespace) -> int:
    try:
        model = weights_file.load(args.weights)
    except ModelFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mnist = load_data(args)
    x = as_features(mnist.test_images)
    y = as_labels(mnist.test_labels, len(x))
    report = classification_report(model, x, y)
    errors = confident_errors(report, y, args.top)
    if args.json:
        print(json.dumps({**strip_arrays(report), "version": model.version, "confident_errors": errors}, indent=2))
    else:
        print(format_report(report, errors, model, args.weights))
    if args.save_errors:
        written = save_error_images(mnist.test_images, errors, Path(args.save_errors))
        print(f"wrote {len(written)} PNG files to {args.save_errors}", file=sys.stderr)
    return 0


def run_kfold(args: argparse.Namespace, config: TrainConfig) -> int:
    mnist = load_data(args)
    result = cross_validate(config, mnist.train_images, mnist.train_labels, args.kfold, progress=not args.quiet)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for r in result["folds"]:
            print(f"fold {r['fold']}: {r['accuracy']:.2%} on {r['held_out']} images "
                  f"(epoch {r['kept_epoch']} kept, {r['seconds']:.1f}s)")
        print(f"{args.kfold}-fold cross-validation accuracy: {result['mean']:.2%} +- {result['std']:.2%} (std)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("weights", nargs="?", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--top", type=int, default=20, help="how many confident errors to list")
    parser.add_argument("--save-errors", metavar="DIR", help="write the listed errors as PNG files into DIR")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--kfold", type=int, metavar="K",
                        help="cross-validate the training configuration given by the training flags instead")
    parser.add_argument("--quiet", action="store_true", help="no training progress output (--kfold)")
    add_inspect_arguments(parser)
    add_training_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, config = parse_training_argv(parser, argv, trains=lambda args: args.kfold is not None)
    if args.inspect is not None:
        return run_inspect(args)
    if args.kfold is not None:
        try:
            return run_kfold(args, config)
        except ValueError as exc:
            parser.error(str(exc))
    return evaluate_weights(args)


if __name__ == "__main__":
    sys.exit(main())
