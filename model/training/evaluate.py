"""Evaluate weights on the MNIST test set, or cross-validate a training configuration.

``python -m model.training.evaluate [weights]``: accuracy, per-class accuracy, confusion matrix
and the most confidently wrong test images (``--save-errors DIR`` writes them as PNG).
``python -m model.training.evaluate --kfold K [training flags]``: K-fold cross-validation of a
configuration on the 60,000 training images, mean +- std of the held-out accuracy.
"""
from __future__ import annotations

import sys

if __name__ == "__main__":  # before NumPy is imported: BLAS reads its thread count once
    from model.training.blas import apply_threads_flag

    apply_threads_flag(sys.argv[1:], augments_by_default="--kfold" in " ".join(sys.argv))

import argparse
import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from model.nn.metrics import classification_report
from model.artifacts import weights_file
from model.artifacts.weights_file import ModelFileError
from model.nn.network import MLP
from model.artifacts.png import encode_png, tile
from model.training.train import (
    DEFAULT_OUT,
    TrainConfig,
    add_training_arguments,
    as_features,
    as_labels,
    config_from_args,
    load_data,
    parse_training_args,
    split_train_val,
    train,
)


def confident_errors(report: dict[str, Any], labels: np.ndarray, top: int) -> list[dict[str, Any]]:
    """The ``top`` wrong predictions the model was surest of, surest first."""
    predicted = report["predicted"]
    wrong = np.flatnonzero(predicted != labels)
    confidence = report["probabilities"][wrong, predicted[wrong]]
    order = np.argsort(-confidence, kind="stable")[:top]
    return [
        {"index": int(wrong[i]), "true": int(labels[wrong[i]]), "predicted": int(predicted[wrong[i]]),
         "confidence": float(confidence[i])}
        for i in order
    ]


def format_report(report: dict[str, Any], errors: list[dict[str, Any]], model: MLP, path: Path) -> str:
    n, acc = report["n"], report["accuracy"]
    lines = [
        f"model {model.version} ({path}, {'-'.join(map(str, [784, *model.spec['hidden_sizes'], 10]))})",
        f"test accuracy: {acc:.2%} ({n - report['errors']}/{n}), loss {report['loss']:.4f}",
        "",
        "per-class accuracy:",
        "  " + "  ".join(f"{d}: {a:.2%}" for d, a in enumerate(report["per_class_accuracy"])),
        "",
        "confusion matrix (rows: true digit, columns: predicted):",
        "      " + "".join(f"{d:>6}" for d in range(10)),
    ]
    for d, row in enumerate(report["confusion_matrix"]):
        lines.append(f"  {d:>3} " + "".join(f"{v:>6}" for v in row))
    lines += ["", f"most confidently wrong ({len(errors)} of {report['errors']} errors):",
              "   index  true  predicted  confidence"]
    lines += [f"  {e['index']:>6}  {e['true']:>4}  {e['predicted']:>9}  {e['confidence']:>10.4f}" for e in errors]
    return "\n".join(lines)


def save_error_images(images: np.ndarray, errors: list[dict[str, Any]], folder: Path) -> list[Path]:
    """One PNG per error (named by rank, index, true and predicted digit) plus a grid of them all."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for rank, e in enumerate(errors, 1):
        path = folder / (f"{rank:02d}_test{e['index']:05d}_true{e['true']}_pred{e['predicted']}"
                         f"_conf{e['confidence']:.3f}.png")
        path.write_bytes(encode_png(images[e["index"]]))
        written.append(path)
    if errors:
        grid = tile(np.stack([images[e["index"]] for e in errors]).astype(np.float32) / 255.0)
        (folder / "errors_grid.png").write_bytes(encode_png(grid))
        written.append(folder / "errors_grid.png")
    return written


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
        out = {k: v for k, v in report.items() if not isinstance(v, np.ndarray)}
        print(json.dumps({**out, "version": model.version, "confident_errors": errors}, indent=2))
    else:
        print(format_report(report, errors, model, args.weights))
    if args.save_errors:
        written = save_error_images(mnist.test_images, errors, Path(args.save_errors))
        print(f"wrote {len(written)} PNG files to {args.save_errors}", file=sys.stderr)
    return 0


def kfold_indices(n: int, k: int, seed: int) -> list[np.ndarray]:
    """k disjoint folds covering range(n), from one seeded permutation."""
    return np.array_split(np.random.default_rng([seed, 20]).permutation(n), k)


def cross_validate(config: TrainConfig, images: np.ndarray, labels: np.ndarray, k: int,
                   progress: bool = True) -> dict[str, Any]:
    """Train k times, each time holding out one fold; keep-best (if on) uses config.val_size
    images carved out of the other folds, never the held-out fold."""
    if k < 2:
        raise ValueError(f"--kfold needs at least 2 folds, got {k}")
    if config.limit is not None:
        keep = np.sort(np.random.default_rng([config.seed, 21]).permutation(len(images))[: config.limit])
        images, labels = images[keep], labels[keep]
    folds = kfold_indices(len(images), k, config.seed)
    results = []
    for i, held_out in enumerate(folds):
        rest = np.sort(np.concatenate([f for j, f in enumerate(folds) if j != i]))
        split = split_train_val(images[rest], labels[rest], config.val_size, config.seed,
                                limit=None if config.limit is None else len(rest))
        start = time.perf_counter()
        model, history = train(config, split, progress=progress)
        seconds = time.perf_counter() - start
        x, y = as_features(images[np.sort(held_out)]), as_labels(labels[np.sort(held_out)], len(held_out))
        acc = float(np.mean(model.predict(x) == y))
        results.append({"fold": i + 1, "accuracy": acc, "held_out": len(held_out),
                        "kept_epoch": history["kept_epoch"], "seconds": seconds})
        if progress:
            print(f"fold {i + 1}/{k}: held-out accuracy {acc:.2%} ({seconds:.1f}s)", file=sys.stderr)
    accs = np.array([r["accuracy"] for r in results])
    return {"k": k, "folds": results, "mean": float(accs.mean()), "std": float(accs.std(ddof=1)),
            "config": config.to_dict()}


def run_kfold(args: argparse.Namespace) -> int:
    config = config_from_args(args)
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
    parser = argparse.ArgumentParser(prog="python -m model.training.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("weights", nargs="?", type=Path, default=DEFAULT_OUT, help=f"default: {DEFAULT_OUT}")
    parser.add_argument("--top", type=int, default=20, help="how many confident errors to list")
    parser.add_argument("--save-errors", metavar="DIR", help="write the listed errors as PNG files into DIR")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--kfold", type=int, metavar="K",
                        help="cross-validate the training configuration given by the training flags instead")
    parser.add_argument("--quiet", action="store_true", help="no training progress output (--kfold)")
    add_training_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parse_training_args(parser, argv)
    if args.kfold is not None:
        try:
            return run_kfold(args)
        except ValueError as exc:
            parser.error(str(exc))
    return evaluate_weights(args)


if __name__ == "__main__":
    sys.exit(main())
