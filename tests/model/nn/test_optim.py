"""The in-place optimiser steps equal the textbook formulas."""
import numpy as np
import pytest

from model.nn.optim import SGD, Adam


def _pairs(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((6, 4)), np.zeros((6, 4))), (rng.standard_normal(4), np.zeros(4))]


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_the_formula(momentum, nesterov):
    lr, wd = 0.1, 1e-2
    pairs = _pairs()
    ref = [p.copy() for p, _ in pairs]
    vel = [np.zeros_like(p) for p in ref]
    opt = SGD(pairs, lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    rng = np.random.default_rng(1)
    for _ in range(10):
        for (p, g), r, v in zip(pairs, ref, vel):
            g[...] = rng.standard_normal(g.shape)
            d = g + wd * r if r.ndim == 2 else g.copy()
            v[...] = momentum * v + d
            r -= lr * ((d + momentum * v) if nesterov else (v if momentum else d))
        opt.step()
    for (p, _), r in zip(pairs, ref):
        np.testing.assert_allclose(p, r, rtol=1e-12, atol=1e-12)


def test_adam_matches_the_formula():
    lr, b1, b2, eps, wd = 1e-2, 0.9, 0.999, 1e-8, 1e-2
    pairs = _pairs()
    ref = [p.copy() for p, _ in pairs]
    m = [np.zeros_like(p) for p in ref]
    v = [np.zeros_like(p) for p in ref]
    opt = Adam(pairs, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    rng = np.random.default_rng(1)
    for t in range(1, 11):
        for i, ((p, g), r) in enumerate(zip(pairs, ref)):
            g[...] = rng.standard_normal(g.shape)
            if r.ndim == 2:
                r *= 1 - lr * wd
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            r -= lr * (m[i] / (1 - b1**t)) / (np.sqrt(v[i] / (1 - b2**t)) + eps)
        opt.step()
    for (p, _), r in zip(pairs, ref):
        np.testing.assert_allclose(p, r, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda pairs: SGD(pairs, lr=0.1, momentum=0.9, weight_decay=1e-2, nesterov=True),
    lambda pairs: SGD(pairs, lr=0.1, momentum=0.0, weight_decay=1e-2),
    lambda pairs: Adam(pairs, lr=1e-2, weight_decay=1e-2),
])
def test_joined_parameters_step_like_separate_arrays(make):
    """MLP keeps its parameters in one flat array (matrices, then biases): the optimisers update
    it as one group, with weight decay on the matrix part only, exactly like separate arrays."""
    from model.nn.network import MLP
    from model.nn.optim import param_groups

    net = MLP(input_size=12, hidden_sizes=(6, 5), num_classes=3, seed=0)
    joined = net.params()
    assert [g.decayed for g in param_groups(joined)] == [12 * 6 + 6 * 5 + 5 * 3]  # one group
    separate = [(p.copy(), g.copy()) for p, g in joined]
    opt_joined, opt_separate = make(joined), make(separate)
    rng = np.random.default_rng(2)
    for _ in range(5):
        for (_, g), (_, g2) in zip(joined, separate):
            g[...] = g2[...] = rng.standard_normal(g.shape)
        opt_joined.step()
        opt_separate.step()
    for (p, _), (p2, _) in zip(joined, separate):
        np.testing.assert_allclose(p, p2, rtol=1e-6, atol=1e-7)
