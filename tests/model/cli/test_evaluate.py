"""The train and evaluate command lines (model/cli) as subprocesses on small data: the evaluate report of a CLI-trained model."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.artifacts import weights_file
from model.training.loop import as_features, as_labels

ROOT = Path(__file__).resolve().parents[3]


def run(module: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small model trained by the CLI (--limit), on a temporary output path."""
    out = tmp_path_factory.mktemp("cli") / "small.npz"
    proc = run("model.cli.train", "--quick", "--limit", "2500", "--epochs", "2", "--hidden", "48", "--threads", "1",
               "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_train_cli_runs_end_to_end(trained):
    out, proc = trained
    assert "epoch 2/2" in proc.stderr and "val_acc" in proc.stderr  # the per-epoch progress
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["blas_threads"] == 1  # --threads reached BLAS (asked of BLAS itself)
    assert card["command"].endswith(f"--out {out}")
    assert card["version"] in proc.stdout and f"test {card['test_accuracy']:.2%}" in proc.stdout


def test_evaluate_prints_the_accuracy_of_the_model(trained, mnist, tmp_path):
    out, _ = trained
    model = weights_file.load(out)
    x, y = as_features(mnist.test_images), as_labels(mnist.test_labels, 10000)
    correct = int(np.sum(model.predict(x) == y))
    proc = run("model.cli.evaluate", str(out), "--top", "5", "--save-errors", str(tmp_path / "errors"))
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"test accuracy: ([\d.]+)% \((\d+)/10000\)", proc.stdout)
    assert match and int(match.group(2)) == correct
    assert float(match.group(1)) == pytest.approx(correct / 100, abs=0.005)
    rows = re.findall(r"^\s+(\d+)\s+(\d)\s+(\d)\s+([\d.]+)$", proc.stdout, re.MULTILINE)
    assert len(rows) == 5
    for index, true, predicted, _ in rows:
        assert int(y[int(index)]) == int(true) != int(predicted) == int(model.predict(x[int(index)])[0])
    confidences = [float(r[3]) for r in rows]
    assert confidences == sorted(confidences, reverse=True)
    pngs = sorted((tmp_path / "errors").glob("0*.png"))
    assert len(pngs) == 5 and (tmp_path / "errors" / "errors_grid.png").exists()
    first = np.array(Image.open(pngs[0]))
    np.testing.assert_array_equal(first, mnist.test_images[int(rows[0][0])])


def test_evaluate_refuses_a_bad_weights_file_clearly(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    proc = run("model.cli.evaluate", str(bad))
    assert proc.returncode == 2 and "not a readable .npz" in proc.stderr and "Traceback" not in proc.stderr


def test_kfold_cli_reports_mean_and_std():
    proc = run("model.cli.evaluate", "--kfold", "3", "--quick", "--limit", "1500", "--epochs", "1", "--hidden", "16",
               "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert len(re.findall(r"^fold \d: ", proc.stdout, re.MULTILINE)) == 3
    assert re.search(r"3-fold cross-validation accuracy: [\d.]+% \+- [\d.]+% \(std\)", proc.stdout)
