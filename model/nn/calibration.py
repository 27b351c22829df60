"""Temperature scaling: one scalar T so that softmax(logits / T) is right as often as it says.

A network trained to near-zero loss is overconfident on anything unlike its training data;
dividing the logits by a T fitted on held-out data (the validation split) fixes most of it
without changing a single argmax. T lives in the weights file's metadata
(``metadata["calibration"]["temperature"]``), so a file carries its own calibration and an
old file without one is served at T = 1.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from model.nn.layers import log_sum_exp, softmax

ECE_BINS = 15


def temperature_of(metadata: dict[str, Any]) -> float:
    """The file's fitted temperature, 1.0 when it has none (or an unusable one)."""
    calibration = metadata.get("calibration")
    value = calibration.get("temperature") if isinstance(calibration, dict) else None
    if isinstance(value, (int, float)) and np.isfinite(value) and value > 0:
        return float(value)
    return 1.0


def calibrated_proba(network: Any, x: np.ndarray) -> np.ndarray:
    """softmax(logits / T) with the file's own temperature: (n, classes), each row sums to 1."""
    z = network.logits(x)
    t = temperature_of(network.metadata)
    return softmax(z / np.float32(t) if t != 1.0 else z)


def nll(z: np.ndarray, labels: np.ndarray, t: float) -> float:
    """Mean negative log-likelihood of the labels under softmax(z / t)."""
    shifted, _, _, log_norm = log_sum_exp(z.astype(np.float64) / t)
    return float(np.mean(log_norm - shifted[np.arange(len(labels)), labels]))


def fit_temperature(z: np.ndarray, labels: np.ndarray) -> float:
    """The T minimising validation NLL: golden-section search on log T in [0.05, 20]."""
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2
    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = nll(z, labels, np.exp(a)), nll(z, labels, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = nll(z, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = nll(z, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> dict[str, Any]:
    """Expected calibration error over equal-width confidence bins, and the bins themselves.

    ECE = sum over bins of (share of answers in the bin) * |accuracy - mean confidence|.
    """
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        inside = which == b
        n = int(inside.sum())
        acc = float(correct[inside].mean()) if n else None
        conf = float(confidence[inside].mean()) if n else None
        if n:
            ece += n / len(confidence) * abs(acc - conf)  # type: ignore[operator]
        rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "n": n, "accuracy": acc,
                     "confidence": conf})
    return {"ece": float(ece), "bins": rows, "n": int(len(confidence))}
