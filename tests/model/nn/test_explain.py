"""The explanation's gradients against finite differences, and its maps on real MNIST digits.

The small networks run in float64 so that central differences agree to many digits; every
activation kind is checked, and the inputs keep each pre-activation away from ReLU's kink.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

from model.nn.explain import explain, forward, input_gradient_of_units, target_logit
from model.artifacts import weights_file
from model.nn.network import ACTIVATIONS, MLP
from testkit.live_server import WEIGHTS

EPS = 1e-6


def small_net(activation: str, seed: int = 3) -> MLP:
    return MLP(input_size=784, hidden_sizes=(13, 11), num_classes=10, activation=activation, seed=seed,
               dtype=np.float64)


def random_input(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.random(784)
    x[rng.random(784) < 0.6] = 0.0  # mostly black, like a drawing
    return x


def numeric_gradient(f, x: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    out = np.empty(len(pixels))
    for k, i in enumerate(pixels):
        up, down = x.copy(), x.copy()
        up[i] += EPS
        down[i] -= EPS
        out[k] = (f(up) - f(down)) / (2 * EPS)
    return out


def pre_activation(model: MLP, x: np.ndarray, layer: int) -> np.ndarray:
    """The hidden layer's values before its activation, by the plain products."""
    outputs = forward(model, x[None, :]).outputs
    below = x if layer == 0 else outputs[layer - 1][0]
    return below @ model.dense[layer].W + model.dense[layer].b


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("target", [0, 7])
def test_saliency_is_the_input_gradient_of_the_target_logit(activation: str, target: int) -> None:
    model = small_net(activation)
    x = random_input(target)
    e = explain(model, x, target=target, steps=8)
    pixels = np.arange(784)
    numeric = numeric_gradient(lambda v: target_logit(model, v, target), x, pixels)
    assert np.abs(numeric).max() > 1e-3  # not a trivially flat function
    np.testing.assert_allclose(e.gradient, numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(e.gradient_x_input, numeric * x, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_unit_templates_are_input_gradients_of_the_units(activation: str) -> None:
    model = small_net(activation, seed=5)
    x = random_input(11)
    pixels = np.random.default_rng(0).choice(784, 60, replace=False)
    for layer in (0, 1):
        units = np.array([2, 0, 5])
        templates = input_gradient_of_units(model, x, layer, units)
        for unit, template in zip(units, templates):
            numeric = numeric_gradient(lambda v: pre_activation(model, v, layer)[unit], x, pixels)
            np.testing.assert_allclose(template[pixels], numeric, rtol=1e-5, atol=1e-8)
    e = explain(model, x)
    first = e.layers[0]
    assert first.template_kind == "weights" and e.layers[1].template_kind == "input_gradient"
    for t in first.templates:
        np.testing.assert_array_equal(t.template, model.dense[0].W[:, t.unit])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_contributions_are_activation_times_the_logit_gradient_at_the_unit(activation: str) -> None:
    """d logit / d a for hidden-layer-1 units, by nudging each unit's activation."""
    model = small_net(activation, seed=8)
    x = random_input(4)
    e = explain(model, x, target=3)
    a1 = forward(model, x[None, :]).outputs[0][0]

    def logit_from_a1(a: np.ndarray) -> float:
        _, rest = forward_from_layer(model, a)
        return rest

    numeric = numeric_gradient(logit_from_a1, a1, np.arange(len(a1)))
    for t in e.layers[0].templates:
        assert t.contribution == pytest.approx(a1[t.unit] * numeric[t.unit], rel=1e-5, abs=1e-9)
    assert abs(e.layers[0].templates[0].contribution) == pytest.approx(np.abs(a1 * numeric).max(), rel=1e-5)


def forward_from_layer(model: MLP, a1: np.ndarray) -> tuple[None, float]:
    h = copy.copy(model.layers[3]).forward(a1 @ model.dense[1].W + model.dense[1].b)
    return None, float((h @ model.dense[2].W + model.dense[2].b)[3])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_integrated_gradients_add_up_to_the_logit_difference(activation: str) -> None:
    model = small_net(activation, seed=1)
    x = random_input(2)
    coarse, fine = explain(model, x, target=4, steps=4), explain(model, x, target=4, steps=64)
    total = fine.logits[4] - target_logit(model, np.zeros(784), 4)
    assert fine.baseline_logit == pytest.approx(target_logit(model, np.zeros(784), 4))
    assert abs(fine.completeness_gap) < 1e-3 * max(1.0, abs(total))
    assert abs(fine.completeness_gap) <= abs(coarse.completeness_gap) + 1e-12
    assert explain(model, x, target=4, steps=0).integrated_gradients is None


def test_explanation_agrees_with_the_prediction_and_leaves_the_model_alone() -> None:
    model = weights_file.load(WEIGHTS)
    x = random_input(9).astype(np.float32)
    before = {k: v.copy() for k, v in model.state().items()}
    e = explain(model, x)
    np.testing.assert_allclose(e.probabilities, model.predict_proba(x)[0], rtol=1e-4, atol=1e-6)
    assert e.target == int(model.predict(x[None, :])[0])
    assert [len(layer.values) for layer in e.layers] == [800, 800, model.spec["num_classes"]]  # 11 in the shipped file
    assert all(v >= 0 for layer in e.layers[:2] for v in layer.values)  # ReLU activations
    values = e.layers[0].values
    assert [u for u, _ in e.layers[0].top_units] == list(np.argsort(-values, kind="stable")[:8])
    for name, value in model.state().items():
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(ValueError):
        explain(model, x, target=model.spec["num_classes"])  # 11 outputs in the shipped file: 0-10
    with pytest.raises(ValueError):
        explain(model, x[:100])


def test_saliency_of_mnist_test_digits_sits_on_their_ink(mnist) -> None:
    """Gradient x input and integrated gradients put most of their mass on the ink; the plain
    gradient is a sensitivity map (where more ink would change the logit), measured only for sign."""
    model = weights_file.load(WEIGHTS)
    images = mnist.test_images[:100].reshape(-1, 784).astype(np.float32) / 255
    on_ink = []
    for x, label in zip(images, mnist.test_labels[:100]):
        e = explain(model, x, target=int(label))
        ink = x >= 0.5
        for attribution in (e.gradient_x_input, e.integrated_gradients):
            mass = np.abs(attribution)
            on_ink.append(mass[ink].sum() / mass.sum())
        assert e.integrated_gradients.sum() > 0  # the drawing argues for its own label
    assert min(on_ink) > 0.6
    assert np.median(on_ink) > 0.85
