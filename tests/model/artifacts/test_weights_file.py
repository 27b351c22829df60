"""The weights file (model/artifacts/weights_file.py): round trip, the shipped file, corrupt files, atomic save."""
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from model.artifacts import weights_file
from model.artifacts.weights_file import ModelFileError
from model.nn.network import MLP

ROOT = Path(__file__).resolve().parents[3]


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


def test_the_shipped_file_loads_and_writes_back_byte_for_byte():
    """The format is stable: weights/mlp.npz (written before the format moved here) re-serialises identically."""
    shipped = ROOT / "weights" / "mlp.npz"
    model = weights_file.load(shipped)
    assert weights_file.to_bytes(model) == shipped.read_bytes()


# A save that crashes half-way through writing: a real write(2) failing past RLIMIT_FSIZE. The limit is
# set in a child process (it is process-wide); with SIGXFSZ ignored write() raises EFBIG inside
# atomic_write_bytes, with its default action the kernel kills the process in the middle of the write.
CRASHING_SAVE = """
import resource, signal, sys
from model.artifacts import weights_file
from model.nn.network import MLP
mode, path, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
# Python itself starts with SIGXFSZ ignored; "killed" restores the kernel's default (end the process).
signal.signal(signal.SIGXFSZ, signal.SIG_IGN if mode == "exception" else signal.SIG_DFL)
new = MLP(hidden_sizes=(64,), seed=2)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    weights_file.save(new, path, metadata={"version": "new"})
except OSError as exc:
    print(f"save failed: {exc}")
    sys.exit(3)
"""


@pytest.mark.parametrize("mode", ["exception", "killed"])
def test_a_save_that_crashes_mid_write_leaves_the_old_file_loadable(tmp_path, mode):
    path = tmp_path / "mlp.npz"
    weights_file.save(MLP(hidden_sizes=(8,), seed=0), path, metadata={"version": "old"})
    old = path.read_bytes()
    limit = len(old) + 4096  # the old file fits, the new one (64 hidden units, ~200 kB) does not
    done = subprocess.run([sys.executable, "-c", CRASHING_SAVE, mode, str(path), str(limit)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    if mode == "exception":
        assert done.returncode == 3 and "File too large" in done.stdout, done.stderr
        assert [p.name for p in tmp_path.iterdir()] == ["mlp.npz"]  # the temp file was removed
    else:
        assert done.returncode == -signal.SIGXFSZ, (done.returncode, done.stderr)
    assert path.read_bytes() == old
    assert weights_file.load(path).version == "old"
    assert os.stat(path).st_mode & 0o777 == 0o644
