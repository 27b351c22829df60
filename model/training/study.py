"""The lab's study, on one training budget (command line: ``python -m model.cli.study``).

Hidden sizes 32-16, 64-32 and 128-128; batch 100 against a small batch (20); a
constant learning rate against step decay; the last epoch's parameters against
the best validation epoch's. Every run gets the same number of epochs and the
same validation split; the result is a markdown table of validation and test
accuracy and training time.
"""
from __future__ import annotations

import itertools
import sys
import time
from typing import Any, Sequence

import numpy as np

from model.training.config import TrainConfig
from model.training.loop import as_features, as_labels, split_train_val, train

SIZES = ((32, 16), (64, 32), (128, 128))
BATCHES = (100, 20)
DECAYS = {"constant": {"schedule": "constant"}, "step": {"schedule": "step", "step_size": 2, "gamma": 0.5}}


def study_configs(epochs: int, lr: float, seed: int) -> list[TrainConfig]:
    return [
        TrainConfig(hidden=hidden, batch_size=batch, epochs=epochs, optimizer="sgd", lr=lr, seed=seed,
                    keep_best=keep_best, weight_decay=0.0, augment=None, **DECAYS[decay])
        for hidden, batch, decay, keep_best in itertools.product(SIZES, BATCHES, DECAYS, (False, True))
    ]


def run_study(mnist: Any, epochs: int, lr: float, seeds: Sequence[int], val_size: int,
              limit: int | None = None, log=sys.stderr) -> list[dict[str, Any]]:
    test_x = as_features(mnist.test_images)
    test_y = as_labels(mnist.test_labels, len(test_x))
    rows = []
    for seed in seeds:
        split = split_train_val(mnist.train_images, mnist.train_labels, val_size, seed, limit)
        for config in study_configs(epochs, lr, seed):
            start = time.perf_counter()
            model, history = train(config, split, progress=False)
            seconds = time.perf_counter() - start
            kept = history["epochs"][history["kept_epoch"] - 1]
            row = {
                "hidden": "-".join(map(str, config.hidden)), "batch": config.batch_size,
                "decay": config.schedule, "keep_best": config.keep_best, "seed": seed,
                "kept_epoch": history["kept_epoch"], "val_accuracy": kept["val_accuracy"],
                "test_accuracy": float(np.mean(model.predict(test_x) == test_y)), "seconds": seconds,
            }
            rows.append(row)
            print(f"{row['hidden']:>8} batch {row['batch']:>3} {row['decay']:>8} "
                  f"keep_best={row['keep_best']!s:5} seed {seed}: val {row['val_accuracy']:.2%} "
                  f"test {row['test_accuracy']:.2%} ({seconds:.1f}s)", file=log, flush=True)
    return rows


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """One line per configuration; with several seeds, mean +- std over them."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["hidden"], r["batch"], r["decay"], r["keep_best"]), []).append(r)

    def stat(values: list[float], pct: bool) -> str:
        scale = 100 if pct else 1
        fmt = "{:.2f}" if pct else "{:.1f}"
        text = fmt.format(scale * float(np.mean(values)))
        if len(values) > 1:
            text += " ± " + fmt.format(scale * float(np.std(values, ddof=1)))
        return text

    lines = [
        "| hidden | batch | LR decay | best checkpoint | kept epoch | val acc % | test acc % | train time s |",
        "| --- | ---: | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for (hidden, batch, decay, keep_best), rs in groups.items():
        epochs = "/".join(str(r["kept_epoch"]) for r in rs)
        lines.append(
            f"| {hidden} | {batch} | {'step ×0.5 / 2 ep' if decay == 'step' else 'none'} | "
            f"{'yes' if keep_best else 'no'} | {epochs} | {stat([r['val_accuracy'] for r in rs], True)} | "
            f"{stat([r['test_accuracy'] for r in rs], True)} | {stat([r['seconds'] for r in rs], False)} |"
        )
    return "\n".join(lines)
