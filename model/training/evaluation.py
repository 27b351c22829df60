"""Evaluation of trained weights and cross-validation of a configuration (no argv: model.cli.evaluate).

``confident_errors`` and ``format_report``: accuracy, per-class accuracy, confusion matrix
and the most confidently wrong images; ``save_error_images`` writes them as PNG.
``cross_validate``: K-fold cross-validation of a configuration, mean +- std of the held-out accuracy.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from model.artifacts.png import encode_png, tile
from model.nn.network import MLP
from model.training.config import TrainConfig
from model.training.loop import as_features, as_labels, split_train_val, train


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
