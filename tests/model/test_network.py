"""The whole MLP: gradient checks, save/load, corrupt files, learning and determinism."""
import json
import zipfile

import numpy as np
import pytest

from model.nn.layers import DropoutLayer
from model.artifacts import weights_file
from model.artifacts.weights_file import ModelFileError
from model.nn.network import ACTIVATIONS, MLP
from model.nn.optim import SGD, Adam, make_schedule
from tests.model.test_layers import numeric_grad, rel_error


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


def test_save_load_round_trip_gives_identical_predictions(tmp_path):
    net = MLP(hidden_sizes=(32, 16), activation="tanh", dropout=0.2, seed=5)
    path = tmp_path / "m.npz"
    sha = weights_file.save(net, path, {"version": "test-1"})
    loaded = weights_file.load(path)
    x = np.random.default_rng(0).random((10, 784), dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    assert loaded.spec == net.spec
    assert loaded.version == "test-1" and loaded.sha256 == sha
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temp file left behind


def test_version_falls_back_to_file_hash(tmp_path):
    weights_file.save(MLP(hidden_sizes=(4,)), tmp_path / "m.npz")
    loaded = weights_file.load(tmp_path / "m.npz")
    assert loaded.version == f"sha256:{loaded.sha256[:12]}"


def _rewrite(path, src, **changes):
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    for k in [k for k, v in changes.items() if v is None]:
        del arrays[k]
    np.savez(path, **arrays)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.npz"
    weights_file.save(MLP(hidden_sizes=(8,), seed=0), path)
    return path


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        weights_file.load(tmp_path / "nope.npz")


def test_truncated_file_is_refused(saved, tmp_path):
    bad = tmp_path / "trunc.npz"
    bad.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="not a readable"):
        weights_file.load(bad)


def test_garbage_file_is_refused(tmp_path):
    bad = tmp_path / "garbage.npz"
    bad.write_bytes(b"this is not a zip file" * 10)
    with pytest.raises(ModelFileError, match="not a readable"):
        weights_file.load(bad)


def test_foreign_npz_is_refused(tmp_path):
    bad = tmp_path / "foreign.npz"
    np.savez(bad, W=np.zeros((3, 3)))
    with pytest.raises(ModelFileError, match="not a Digit Canvas weights file"):
        weights_file.load(bad)


def test_wrong_format_version_is_refused(saved, tmp_path):
    bad = tmp_path / "v99.npz"
    _rewrite(bad, saved, __format_version__=np.array(99))
    with pytest.raises(ModelFileError, match="format 99"):
        weights_file.load(bad)


def test_shape_mismatch_is_refused(saved, tmp_path):
    bad = tmp_path / "shape.npz"
    _rewrite(bad, saved, **{"fc0.W": np.zeros((784, 9), dtype=np.float32)})
    with pytest.raises(ModelFileError, match="shape"):
        weights_file.load(bad)


def test_architecture_mismatch_is_refused(saved, tmp_path):
    bad = tmp_path / "arch.npz"
    spec = {"input_size": 784, "hidden_sizes": [8, 8], "num_classes": 10, "activation": "relu"}
    _rewrite(bad, saved, __architecture__=np.array(json.dumps(spec)))
    with pytest.raises(ModelFileError, match="missing"):
        weights_file.load(bad)


def test_unknown_activation_and_nan_are_refused(saved, tmp_path):
    bad = tmp_path / "act.npz"
    spec = {"input_size": 784, "hidden_sizes": [8], "num_classes": 10, "activation": "swish"}
    _rewrite(bad, saved, __architecture__=np.array(json.dumps(spec)))
    with pytest.raises(ModelFileError, match="architecture"):
        weights_file.load(bad)
    nan = tmp_path / "nan.npz"
    _rewrite(nan, saved, **{"fc1.b": np.full(10, np.nan, dtype=np.float32)})
    with pytest.raises(ModelFileError, match="NaN"):
        weights_file.load(nan)


def test_save_replaces_atomically(saved):
    """A reader never sees a partial file: the old one stays until the new one is complete."""
    before = saved.read_bytes()
    weights_file.save(MLP(hidden_sizes=(8,), seed=1), saved)
    assert saved.read_bytes() != before
    assert zipfile.is_zipfile(saved)
    weights_file.load(saved)


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
