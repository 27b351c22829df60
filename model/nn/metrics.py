"""Accuracy, loss and confusion matrix of a model on a labelled set (shared by train and evaluate)."""
from __future__ import annotations

from typing import Any

import numpy as np

from model.nn.layers import log_sum_exp, softmax
from model.nn.network import MLP


def probabilities(model: MLP, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """Class probabilities in inference mode, batch by batch (bounded memory)."""
    out = np.empty((len(x), model.spec["num_classes"]), dtype=np.float32)
    for i in range(0, len(x), batch_size):
        out[i : i + batch_size] = softmax(model.forward(x[i : i + batch_size], train=False))
    return out


def loss_and_accuracy(model: MLP, x: np.ndarray, y: np.ndarray, batch_size: int = 4096) -> tuple[float, float]:
    """Mean cross-entropy and accuracy; one softmax per batch, never the whole set at once."""
    if len(x) == 0:
        return float("nan"), float("nan")
    total_loss = 0.0
    correct = 0
    for i in range(0, len(x), batch_size):
        logits = model.forward(x[i : i + batch_size], train=False)
        labels = y[i : i + batch_size]
        shifted, _, _, log_norm = log_sum_exp(logits)
        total_loss += float(np.sum(log_norm - shifted[np.arange(len(labels)), labels], dtype=np.float64))
        correct += int(np.count_nonzero(logits.argmax(axis=1) == labels))
    return total_loss / len(x), correct / len(x)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Rows: true class; columns: predicted class."""
    cm = np.bincount(
        np.asarray(labels, dtype=np.intp) * num_classes + np.asarray(predicted, dtype=np.intp),
        minlength=num_classes * num_classes,
    )
    return cm.reshape(num_classes, num_classes)


def per_class_accuracy(cm: np.ndarray) -> list[float]:
    """Recall of each true class (NaN for a class with no examples)."""
    totals = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return [float(v) for v in np.diag(cm) / totals]


def classification_report(model: MLP, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Everything the model card and the evaluate CLI show about one labelled set."""
    probs = probabilities(model, x)
    predicted = probs.argmax(axis=1)
    y = np.asarray(y, dtype=np.intp)
    cm = confusion_matrix(y, predicted, model.spec["num_classes"])
    correct_probs = np.clip(probs[np.arange(len(y)), y], 1e-12, None)
    return {
        "n": int(len(y)),
        "accuracy": float(np.mean(predicted == y)) if len(y) else float("nan"),
        "loss": float(-np.mean(np.log(correct_probs, dtype=np.float64))) if len(y) else float("nan"),
        "errors": int(np.count_nonzero(predicted != y)),
        "per_class_accuracy": per_class_accuracy(cm),
        "confusion_matrix": cm.tolist(),
        "probabilities": probs,
        "predicted": predicted,
    }
