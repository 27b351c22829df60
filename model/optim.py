"""Optimisers that update (param, grad) pairs in place, and learning-rate schedules.

Weight decay touches matrices only (ndim == 2), never biases. SGD adds it to the
gradient (classic L2); Adam decays the weights directly (AdamW), which is what
makes decay and adaptive steps independent.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

ParamPairs = Sequence[tuple[np.ndarray, np.ndarray]]


class SGD:
    """Stochastic gradient descent with (optionally Nesterov) momentum."""

    def __init__(
        self, params: ParamPairs, lr: float = 0.1, momentum: float = 0.9,
        weight_decay: float = 0.0, nesterov: bool = False,
    ) -> None:
        self.params = list(params)
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.nesterov = nesterov
        self.velocity = [np.zeros_like(p) for p, _ in self.params]

    def step(self) -> None:
        for (p, g), v in zip(self.params, self.velocity):
            if self.weight_decay and p.ndim == 2:
                g = g + self.weight_decay * p
            if self.momentum:
                v *= self.momentum
                v += g
                g = g + self.momentum * v if self.nesterov else v
            p -= self.lr * g


class Adam:
    """Adam with decoupled weight decay (AdamW when weight_decay > 0)."""

    def __init__(
        self, params: ParamPairs, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8, weight_decay: float = 0.0,
    ) -> None:
        self.params = list(params)
        self.lr = lr
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.m = [np.zeros_like(p) for p, _ in self.params]
        self.v = [np.zeros_like(p) for p, _ in self.params]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # Bias corrections folded into the step size and epsilon: no extra temporaries.
        step_size = self.lr * math.sqrt(1 - b2**self.t) / (1 - b1**self.t)
        eps = self.eps * math.sqrt(1 - b2**self.t)
        for (p, g), m, v in zip(self.params, self.m, self.v):
            if self.weight_decay and p.ndim == 2:
                p *= 1 - self.lr * self.weight_decay
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom += eps
            p -= step_size * (m / denom)


OPTIMISERS = {"sgd": SGD, "adam": Adam}

Schedule = Callable[[float], float]


def make_schedule(
    name: str, base_lr: float, epochs: int, step_size: int = 5, gamma: float = 0.5,
    warmup: float = 0.0, min_lr: float = 0.0,
) -> Schedule:
    """Learning rate as a function of (fractional) epoch t in [0, epochs).

    - ``constant``: base_lr.
    - ``step``: multiply by ``gamma`` every ``step_size`` epochs (the course lab's decay).
    - ``exp``: multiply by ``gamma`` every epoch, smoothly.
    - ``cosine``: half a cosine from base_lr down to ``min_lr`` over the run.
    An optional linear warm-up over the first ``warmup`` epochs applies to all of them.
    """

    def core(t: float) -> float:
        if name == "constant":
            return base_lr
        if name == "step":
            return base_lr * gamma ** math.floor(t / step_size)
        if name == "exp":
            return base_lr * gamma**t
        if name == "cosine":
            frac = min(max(t / max(epochs, 1e-9), 0.0), 1.0)
            return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * frac))
        raise ValueError(f"unknown schedule {name!r}; choose constant, step, exp or cosine")

    core(0.0)  # fail fast on an unknown name

    def schedule(t: float) -> float:
        lr = core(t)
        if warmup > 0 and t < warmup:
            lr *= (t + 1e-3) / warmup
        return lr

    return schedule


SCHEDULES = ("constant", "step", "exp", "cosine")
