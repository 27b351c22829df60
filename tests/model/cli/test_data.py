"""``python -m model.data`` (model/cli/data.py): copy verified files into a cache, or say clearly why not."""
import subprocess
import sys
from pathlib import Path

import numpy as np

from model.data.mnist import MNIST_FILES, default_cache_dir, load_mnist


def test_cli_copies_real_files_from_a_local_folder(tmp_path, mnist):
    """`python -m model.data` with MNIST_DIR pointing at verified files (real checksums)."""
    source = default_cache_dir()
    cache = tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "-m", "model.data", "--cache-dir", str(cache), "--source-dir", str(source), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in MNIST_FILES:
        assert f"{cache / name}  (" in done.stdout
    reloaded = load_mnist(cache_dir=cache, progress=False)
    np.testing.assert_array_equal(reloaded.test_images, mnist.test_images)


def test_cli_reports_unavailable_mnist_clearly(tmp_path, dead_url):
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {"PATH": "/nonexistent", "HOME": str(tmp_path), "MNIST_DIR": str(empty)}
    done = subprocess.run(
        [sys.executable, "-m", "model.data", "--cache-dir", str(tmp_path / "cache"), "--mirror", dead_url,
         "--quiet"],
        capture_output=True, text=True, timeout=120, env=env, cwd=Path(__file__).parents[3],
    )
    assert done.returncode == 1
    assert "MNIST is unavailable" in done.stderr and "Traceback" not in done.stderr
    assert "'npm' not found on PATH" in done.stderr
