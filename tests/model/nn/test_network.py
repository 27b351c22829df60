"""The whole MLP: gradient checks, dropout, predictions, learning and determinism (its file: tests/model/artifacts)."""
import numpy as np
import pytest

from model.nn.layers import DropoutLayer
from model.nn.network import ACTIVATIONS, MLP
from model.nn.optim import SGD, Adam, make_schedule
from tests.model.nn.test_layers import numeric_grad, rel_error


def _fix_dropout_masks(net, seed):
    for layer in net.layers:
        if isinstance(layer, DropoutLayer):
            layer.rng = np.random.default_rng(seed)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_network_gradients_match_finite_differences(activation, dropout):
    net = MLP(input_size=6, hidden_sizes=(5, 4), num_classes=3, activation=activation,
              dropout=dropout, seed=3, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    y = rng.integers(0, 3, 4)

    def loss():
        _fix_dropout_masks(net, 7)
        return net.loss(net.forward(x, train=True), y)

    loss()
    net.backward()
    analytic = [g.copy() for _, g in net.params()]
    for (p, _), g in zip(net.params(), analytic):
        assert rel_error(g, numeric_grad(loss, p)) < 1e-6


def test_dropout_only_acts_in_training():
    net = MLP(input_size=20, hidden_sizes=(50,), dropout=0.5, seed=0)
    x = np.random.default_rng(0).random((3, 20), dtype=np.float32)
    np.testing.assert_array_equal(net.forward(x), net.forward(x))
    assert not np.allclose(net.forward(x, train=True), net.forward(x, train=True))


def test_predict_proba_shapes_and_sums():
    net = MLP(seed=1)
    x = np.random.default_rng(0).random((7, 784), dtype=np.float32)
    p = net.predict_proba(x)
    assert p.shape == (7, 10) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(net.predict_proba(x[0]), p[:1], rtol=1e-6)
    with pytest.raises(ValueError, match="784"):
        net.predict_proba(np.zeros((2, 100), dtype=np.float32))


def _blobs(n=600, seed=0):
    """Ten well-separated Gaussian clusters in 784-d: learnable in a second."""
    rng = np.random.default_rng(seed)
    centres = rng.random((10, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    x = np.clip(centres[y] + 0.3 * rng.standard_normal((n, 784)).astype(np.float32), 0, 1)
    return x.astype(np.float32), y


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_training_learns_and_is_deterministic(opt_name):
    x, y = _blobs()

    def run():
        net = MLP(hidden_sizes=(32,), seed=4, dropout=0.1)
        opt = SGD(net.params(), lr=0.05, weight_decay=1e-4) if opt_name == "sgd" else Adam(
            net.params(), lr=1e-3, weight_decay=1e-4)
        first = None
        for step in range(60):
            idx = slice((step * 50) % 600, (step * 50) % 600 + 50)
            loss = net.loss(net.forward(x[idx], train=True), y[idx])
            first = loss if first is None else first
            net.backward()
            opt.step()
        return net, first, loss

    net, first, last = run()
    assert last < first / 4
    assert (net.predict(x) == y).mean() > 0.95
    again, _, _ = run()
    for (a, _), (b, _) in zip(net.params(), again.params()):
        np.testing.assert_array_equal(a, b)


def test_schedules():
    step = make_schedule("step", 0.1, 20, step_size=5, gamma=0.5)
    assert step(0) == 0.1 and step(5) == 0.05 and step(19.9) == 0.1 * 0.5**3
    cos = make_schedule("cosine", 0.1, 10, min_lr=0.001)
    assert cos(0) == pytest.approx(0.1) and cos(10) == pytest.approx(0.001)
    assert cos(5) == pytest.approx(0.0505)
    warm = make_schedule("constant", 0.1, 10, warmup=1)
    assert warm(0.0) < 0.01 and warm(0.5) == pytest.approx(0.05, rel=0.01) and warm(2) == 0.1
    with pytest.raises(ValueError):
        make_schedule("linear", 0.1, 10)


def test_weight_decay_spares_biases():
    net = MLP(input_size=4, hidden_sizes=(3,), num_classes=2)
    for p, g in net.params():
        g[...] = 0
        if p.ndim == 1:
            p += 1
    before = [p.copy() for p, _ in net.params()]
    SGD(net.params(), lr=0.1, momentum=0, weight_decay=0.5).step()
    for (p, _), old in zip(net.params(), before):
        if p.ndim == 1:
            np.testing.assert_array_equal(p, old)
        else:
            np.testing.assert_allclose(p, old * 0.95, rtol=1e-6)
