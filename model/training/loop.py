"""The training loop: splits, batches, epochs, the best-validation checkpoint, train-and-save.

``train(config, data)`` is the reusable part (model.training.honest, which the admin
retrain runs, calls it with a ready Split; ``train_and_save`` also evaluates on the test
set and writes the weights and the model card).

The epoch is meant to be spent in matrix products: each batch is gathered from
the training set into a preallocated buffer, the loss layer's softmax is reused
for the accuracy, and only the validation set is evaluated between epochs.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np

from model.artifacts.card import array_sha256, save_model_and_card, strip_arrays
from model.data.mnist import MNIST_SHA256
from model.nn.metrics import classification_report, loss_and_accuracy
from model.nn.network import MLP
from model.nn.optim import Adam, SGD, make_schedule
from model.training import blas
from model.training.config import TrainConfig, augment_config
from model.training.progress import ProgressBar, SilentProgress, TrainingProgress
from model.training.provenance import code_revision

# Distinct random streams derived from the one seed, so changing e.g. the
# validation split never changes the initial weights.
SPLIT_STREAM, SHUFFLE_STREAM, AUGMENT_STREAM = 10, 11, 12


class Split(NamedTuple):
    """Flat float32 features in [0, 1] and integer labels, ready for the network."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray


def as_features(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (n, 28, 28) or (n, 784), or floats in [0, 1] -> float32 (n, 784)."""
    images = np.asarray(images)
    flat = images.reshape(len(images), int(np.prod(images.shape[1:])))  # (0, 28, 28) -> (0, 784) too
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
                                      augment_config(config.augment))
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


def train_and_save(
    config: TrainConfig, mnist: Any, out: str | os.PathLike, *, command: str | None = None,
    extra: tuple[np.ndarray, np.ndarray] | None = None, progress: bool | TrainingProgress = True,
) -> tuple[MLP, dict[str, Any]]:
    """What ``python -m model.cli.train`` does after parsing its flags, for other programs too:
    split, train (with ``extra`` images mixed into the training part),
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
        "blas_threads": blas.current_threads(), "code": code_revision(),
    }, Path(out))
    return model, card


def data_description(mnist: Any, config: TrainConfig, split: Split, test_x: np.ndarray,
                     test_y: np.ndarray, extra_size: int = 0) -> dict[str, Any]:
    return {
        "source": "MNIST via model.data.load_mnist",
        "files_sha256": dict(MNIST_SHA256),
        "train_size": len(split.train_x),
        "val_size": len(split.val_x),
        "extra_size": extra_size,
        "test_size": len(test_x),
        "split_seed": config.seed,
        "train_sha256": array_sha256(split.train_x, split.train_y),
        "val_sha256": array_sha256(split.val_x, split.val_y),
        "test_sha256": array_sha256(test_x, test_y),
    }
