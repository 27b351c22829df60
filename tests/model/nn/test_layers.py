"""Numerical gradient checks (central differences in float64) for every layer."""
import numpy as np
import pytest

from model.nn.layers import (
    DropoutLayer,
    FullyConnectedLayer,
    LeakyReLULayer,
    ReLULayer,
    SigmoidLayer,
    SoftmaxLossLayer,
    TanhLayer,
    softmax,
)

EPS = 1e-6


def numeric_grad(f, x):
    """d f / d x by central differences, perturbing x in place."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + EPS
        plus = f()
        x[i] = old - EPS
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * EPS)
    return grad


def rel_error(a, b):
    """Relative error of the whole gradient (elementwise ratios blow up on ~0 entries)."""
    return np.linalg.norm(a - b) / max(1e-12, np.linalg.norm(a) + np.linalg.norm(b))


def check_layer(layer, x, train=False):
    """Compare backward() with finite differences of sum(forward(x) * w)."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal(layer.forward(x.copy(), train).shape)

    def f():
        return float(np.sum(layer.forward(x.copy(), train) * w))

    layer.forward(x.copy(), train)
    dx = layer.backward(w.copy())
    grads = [g.copy() for g in layer.grads]
    if dx is not None:
        assert rel_error(dx, numeric_grad(f, x)) < 1e-7
    for p, g in zip(layer.params, grads):
        assert rel_error(g, numeric_grad(f, p)) < 1e-7


@pytest.mark.parametrize("init", ["he", "xavier"])
def test_fully_connected_gradients(init):
    rng = np.random.default_rng(0)
    layer = FullyConnectedLayer(7, 5, rng, init=init, dtype=np.float64)
    layer.b[:] = rng.standard_normal(5)
    check_layer(layer, rng.standard_normal((4, 7)))


def test_first_layer_skips_input_gradient_but_keeps_parameter_gradients():
    rng = np.random.default_rng(0)
    layer = FullyConnectedLayer(6, 3, rng, dtype=np.float64, needs_input_grad=False)
    x = rng.standard_normal((5, 6))
    layer.forward(x)
    assert layer.backward(np.ones((5, 3))) is None
    np.testing.assert_allclose(layer.dW, x.T @ np.ones((5, 3)))


@pytest.mark.parametrize("nonzero", [0, 1, 30, 100], ids=["blank", "one", "sparse", "dense"])
def test_one_vector_product_reads_only_nonzero_rows_and_matches_the_full_product(nonzero):
    rng = np.random.default_rng(1)
    layer = FullyConnectedLayer(100, 40, rng, dtype=np.float64)
    layer.b[:] = rng.standard_normal(40)
    x = np.zeros(100)
    x[rng.choice(100, nonzero, replace=False)] = rng.standard_normal(nonzero)
    np.testing.assert_allclose(layer.forward(x), x @ layer.W + layer.b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(x[None, :])[0], x @ layer.W + layer.b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layer", [ReLULayer(), LeakyReLULayer(0.1), TanhLayer(), SigmoidLayer()],
                         ids=["relu", "leaky_relu", "tanh", "sigmoid"])
def test_activation_gradients(layer):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink of ReLU
    check_layer(layer, x)


def test_dropout_gradient_in_training_mode_uses_the_same_mask():
    layer = DropoutLayer(0.5, np.random.default_rng(0))
    x = np.random.default_rng(1).standard_normal((6, 8))
    out = layer.forward(x, train=True)
    mask = layer._mask
    assert set(np.unique(mask)) <= {0.0, 2.0} and 0 < np.count_nonzero(mask) < mask.size
    np.testing.assert_allclose(out, x * mask)
    g = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(g), g * mask)


def test_dropout_is_identity_at_inference_and_keeps_expectation_in_training():
    layer = DropoutLayer(0.3, np.random.default_rng(0))
    x = np.ones((200, 500), dtype=np.float32)
    np.testing.assert_array_equal(layer.forward(x, train=False), x)
    np.testing.assert_array_equal(layer.backward(x), x)
    assert abs(layer.forward(x, train=True).mean() - 1.0) < 0.01


def test_dropout_rejects_invalid_probability():
    with pytest.raises(ValueError):
        DropoutLayer(1.0, np.random.default_rng(0))


def test_softmax_loss_gradient():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 10)) * 3
    labels = rng.integers(0, 10, 5)
    layer = SoftmaxLossLayer()
    layer.forward(logits, labels)
    grad = layer.backward()
    num = numeric_grad(lambda: layer.forward(logits, labels), logits)
    assert rel_error(grad, num) < 1e-7


@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_softmax_loss_stays_finite_for_huge_logits(scale):
    logits = np.array([[scale, 0, -scale, 1, 2, 3, 4, 5, 6, 7]], dtype=np.float32)
    layer = SoftmaxLossLayer()
    for label in (0, 2):
        loss = layer.forward(logits, np.array([label]))
        assert np.isfinite(loss)
        assert np.all(np.isfinite(layer.backward()))
        np.testing.assert_allclose(layer.probs.sum(axis=1), 1.0, rtol=1e-6)
    probs = softmax(logits.copy())
    assert np.all(np.isfinite(probs)) and abs(probs.sum() - 1) < 1e-7
    # The confident right answer costs nothing, the confident wrong one costs ~2e4.
    right = 0 if scale > 0 else 2
    assert layer.forward(logits, np.array([right])) < 1e-3
    assert layer.forward(logits, np.array([1])) > 1e3


def test_float32_in_float32_out():
    rng = np.random.default_rng(0)
    fc = FullyConnectedLayer(4, 3, rng)
    x = rng.standard_normal((2, 4)).astype(np.float32)
    for layer in (fc, ReLULayer(), LeakyReLULayer(), TanhLayer(), SigmoidLayer()):
        assert layer.forward(x).dtype == np.float32
        x = x[:, :3] if layer is fc else x
