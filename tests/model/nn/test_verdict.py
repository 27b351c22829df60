"""model.nn.verdict and model.nn.calibration: the rule, the geometry, the temperature."""
from __future__ import annotations

import numpy as np
import pytest

from model.artifacts import weights_file
from model.nn import verdict as v
from model.nn.calibration import calibrated_proba, fit_temperature, reliability, temperature_of
from model.nn.network import MLP


def field_with(draw) -> np.ndarray:
    f = np.zeros((28, 28), np.float32)
    draw(f)
    return f.reshape(1, 784)


def ring(f: np.ndarray) -> None:
    yy, xx = np.mgrid[0:28, 0:28]
    r = np.hypot((yy - 14) / 10, (xx - 14) / 7)
    f[(r > 0.75) & (r < 1.0)] = 1.0


def test_geometry_names_dots_and_flat_lines_but_not_upright_bars_or_rings() -> None:
    def disk(f):
        yy, xx = np.mgrid[0:28, 0:28]
        f[np.hypot(yy - 14, xx - 14) <= 10.5] = 1.0
    assert v.stroke_shapes(field_with(disk)) == ["dot"]
    assert v.stroke_shapes(field_with(lambda f: f.__setitem__((slice(13, 15), slice(4, 24)), 1.0))) == ["line"]
    assert v.stroke_shapes(field_with(lambda f: f.__setitem__((slice(4, 24), slice(13, 15)), 1.0))) == [None]
    assert v.stroke_shapes(field_with(ring)) == [None]

    def slope(rise: float):  # a thin straight stroke through the centre, `rise` rows per column
        def draw(f):
            for x in np.linspace(2, 25, 200):
                y = 14 + rise * (x - 14)
                if 0 <= y < 28:
                    f[int(y), int(x)] = 1.0
        return draw
    assert v.stroke_shapes(field_with(slope(0.45))) == ["line"]  # 66 degrees off vertical: a slash
    assert v.stroke_shapes(field_with(slope(-0.45))) == ["line"]


def outputs(*digits: float, not_digit: float | None = None) -> np.ndarray:
    row = np.zeros(10 if not_digit is None else 11)
    row[: len(digits)] = digits
    if not_digit is not None:
        row[10] = not_digit
    return row[None, :]


def test_rule_thresholds_and_candidates() -> None:
    upright = field_with(ring)
    sure = v.decide(outputs(0.9, 0.1), upright)[0]
    assert (sure.verdict, sure.digit, sure.candidates) == ("digit", 0, [])
    torn = v.decide(outputs(0.05, 0.5, 0.42, 0.03), upright)[0]
    assert (torn.verdict, torn.digit, torn.candidates) == ("unsure", 1, [1, 2])
    spread = v.decide(outputs(0.3, 0.3, 0.3, 0.1), upright)[0]
    assert spread.verdict == "unsure" and spread.candidates == [0, 1, 2]
    assert v.decide(outputs(0.25, 0.25, 0.25, 0.25), upright)[0].verdict == "not_a_digit"  # 10 outputs: too flat
    rejected = v.decide(outputs(0.3, 0.1, not_digit=0.6), upright)[0]
    assert rejected.verdict == "not_a_digit" and rejected.not_digit == pytest.approx(0.6)
    assert rejected.probabilities.sum() == pytest.approx(1.0) and rejected.digit == 0
    kept = v.decide(outputs(0.85, 0.0, not_digit=0.15), upright)[0]
    assert kept.verdict == "digit" and kept.confidence == pytest.approx(1.0)


def test_temperature_is_fitted_stored_and_applied(tmp_path) -> None:
    rng = np.random.default_rng(0)
    true_t = 2.5
    z = rng.normal(0, 3, (4000, 10))
    p = np.exp(z / true_t)
    p /= p.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in p])
    assert fit_temperature(z, labels) == pytest.approx(true_t, rel=0.1)

    net = MLP(hidden_sizes=(8,), num_classes=11, seed=1)
    x = rng.random((5, 784), dtype=np.float32)
    plain = calibrated_proba(net, x)
    weights_file.save(net, tmp_path / "m.npz", metadata={"calibration": {"temperature": 3.0}})
    loaded = weights_file.load(tmp_path / "m.npz")
    assert temperature_of(loaded.metadata) == 3.0
    hot = calibrated_proba(loaded, x)
    z = net.forward(x) / 3.0
    expected = np.exp(z - z.max(axis=1, keepdims=True))
    assert np.allclose(hot, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
    assert np.allclose(hot.sum(axis=1), 1, atol=1e-6) and not np.allclose(hot, plain)
    assert temperature_of({}) == temperature_of({"calibration": {"temperature": -1}}) == 1.0


def test_ece_of_a_perfectly_calibrated_and_an_overconfident_answer() -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 1.0, 20000)
    assert reliability(conf, rng.random(20000) < conf)["ece"] < 0.02
    assert reliability(np.ones(1000), rng.random(1000) < 0.7)["ece"] == pytest.approx(0.3, abs=0.05)
