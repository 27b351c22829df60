"""Optimisers that update (param, grad) pairs in place, and learning-rate schedules.

Weight decay touches matrices only (ndim == 2), never biases. SGD adds it to the
gradient (classic L2); Adam decays the weights directly (AdamW), which is what
makes decay and adaptive steps independent.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple, Sequence

import numpy as np

ParamPairs = Sequence[tuple[np.ndarray, np.ndarray]]


class ParamGroup(NamedTuple):
    """Parameters updated together: one array each for the values and the gradients."""

    param: np.ndarray
    grad: np.ndarray
    decayed: int  # weight decay applies to the first `decayed` values (matrices), not the rest (biases)

    def decay_part(self, a: np.ndarray) -> np.ndarray:
        """The decayed values of ``a`` (an array shaped like param, e.g. a scratch array)."""
        return a if self.decayed == self.param.size else a[: self.decayed]


def param_groups(params: ParamPairs) -> list[ParamGroup]:
    """The pairs, with those stored back to back in one buffer (as ``MLP`` keeps them) joined.

    A step is memory-bound: a few passes over every parameter. Joined, a 784-256-128-10
    MLP's six arrays become one flat array (matrices, then biases), so each pass is one
    long ufunc call instead of six (the small ones cost as much in call overhead as the
    big one in memory traffic). A group holds decayed values first: a matrix stored after
    a bias starts a new group.
    """
    groups: list[ParamGroup] = []
    for p, g in sorted(params, key=lambda pair: pair[0].__array_interface__["data"][0]):
        decayed = p.size if p.ndim == 2 else 0
        last = groups[-1] if groups else None
        if last is not None and (last.decayed == last.param.size or not decayed):
            joined = _joined(last.param, p), _joined(last.grad, g)
            if joined[0] is not None and joined[1] is not None:
                groups[-1] = ParamGroup(joined[0], joined[1], last.decayed + decayed)
                continue
        groups.append(ParamGroup(p, g, decayed))
    return groups


def _joined(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """One 1-D view covering a then b, if b starts where a ends in the same 1-D buffer; else None."""
    base = a.base
    if (
        base is None or b.base is not base or base.ndim != 1 or not base.flags.c_contiguous
        or not (a.flags.c_contiguous and b.flags.c_contiguous) or not a.dtype == b.dtype == base.dtype
        or a.ctypes.data + a.nbytes != b.ctypes.data
    ):
        return None
    start = (a.ctypes.data - base.ctypes.data) // base.itemsize
    return base[start : start + a.size + b.size]


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
        self.groups = param_groups(self.params)
        # Nesterov keeps momentum * velocity (one pass fewer per step, see step); else the velocity.
        self.velocity = [np.zeros_like(group.param) for group in self.groups]
        self._scratch = [np.empty_like(group.param) for group in self.groups]

    def step(self) -> None:
        # In place through one scratch array per group: no temporaries the size of the weights,
        # so a step costs a few passes over memory (7 with Nesterov and decay), no allocations.
        lr, mu = self.lr, self.momentum
        for group, v, buf in zip(self.groups, self.velocity, self._scratch):
            p, g, decayed = group
            if self.weight_decay and decayed:  # d = g + wd * p (matrices), d = g (biases)
                head = group.decay_part(buf)
                np.multiply(group.decay_part(p), self.weight_decay, out=head)
                head += group.decay_part(g)
                if decayed < p.size:
                    buf[decayed:] = g[decayed:]
                g = buf
            if not mu:
                if g is not buf:
                    np.multiply(g, lr, out=buf)
                else:
                    buf *= lr
            elif self.nesterov:
                # v' = mu v + d and p -= lr (d + mu v'); with s = mu v stored: s' = mu (s + d).
                v += g
                v *= mu
                np.add(g, v, out=buf)
                buf *= lr
            else:
                v *= mu
                v += g
                np.multiply(v, lr, out=buf)
            p -= buf


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
        self.groups = param_groups(self.params)
        # The moments are kept divided by (1 - beta): m = (1 - b1) M, v = (1 - b2) V, which
        # spares the pass that scales each new gradient; the factors go into the step size.
        self.m = [np.zeros_like(group.param) for group in self.groups]
        self.v = [np.zeros_like(group.param) for group in self.groups]
        self._scratch = [np.empty_like(group.param) for group in self.groups]
        self.t = 0

    def step(self) -> None:
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # m_hat / (sqrt(v_hat) + eps) = a M / (c sqrt(V) + eps) = (a / c) M / (sqrt(V) + eps / c)
        a = (1 - b1) / (1 - b1**self.t)
        c = math.sqrt((1 - b2) / (1 - b2**self.t))
        step_size, eps = self.lr * a / c, self.eps / c
        for group, m, v, buf in zip(self.groups, self.m, self.v, self._scratch):
            p, g, decayed = group
            if self.weight_decay and decayed:
                group.decay_part(p)[...] *= 1 - self.lr * self.weight_decay
            m *= b1
            m += g
            v *= b2
            np.multiply(g, g, out=buf)
            v += buf
            np.sqrt(v, out=buf)
            buf += eps
            np.divide(m, buf, out=buf)
            buf *= step_size
            p -= buf


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
