"""GET /model and `python -m app.admin report`: the same figures, from the card and the registry.

A registry with a second version (the shipped weights under another name, its card carrying a
gate and calibration as retrain and the calibration issue write them) shows what a real one does.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from app import create_app
from app.admin.report import write_report
from app.serving.model_registry import ModelRegistry
from model.artifacts.plots import card_figures
from tests.conftest import UNLIMITED
from testkit.live_server import REPO, WEIGHTS

BINS = [{"low": i / 15, "high": (i + 1) / 15, "n": 10 * i, "accuracy": min(1.0, i / 14), "confidence": (i + 0.5) / 15}
        for i in range(15)]


@pytest.fixture
def instance(tmp_path):
    """An instance folder whose registry holds v2 (served) beside the shipped weights."""
    folder = tmp_path / "instance"
    version = folder / "models" / "v2"
    version.mkdir(parents=True)
    shutil.copy(WEIGHTS, version / "mlp.npz")
    card = json.loads(WEIGHTS.with_suffix(".json").read_text())
    card["version"] = "mlp-v2"
    card["gate"] = {"active_version": "shipped", "tolerance_points": 0.2, "passed": True, "reasons": [],
                    "decision": "promoted", "sets": {"mnist_test": {"size": 10000, "active": 0.9954, "candidate": 0.9961},
                                                     "feedback_holdout": {"size": 40, "active": 0.85, "candidate": 0.925}}}
    card["calibration"] = {"temperature": 1.4, "after": {"ece": 0.0123, "bins": BINS}}
    (version / "mlp.json").write_text(json.dumps(card))
    ModelRegistry.in_instance(folder, WEIGHTS).promote("v2")
    return folder


def test_model_page_from_card_and_registry(instance) -> None:
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(instance), **UNLIMITED})
    response = app.test_client().get("/model")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Content-Security-Policy" in response.headers
    html = response.get_data(as_text=True)
    assert "784</span>" in html and "1,277,611 parameters" in html  # 784-800-800-11: the shipped model says "not a digit"
    assert html.count('class="series"') == 4  # loss and accuracy, training and validation
    assert html.count('class="cell"') == 121  # 11 x 11: the shipped model's 11th output is "not a digit"
    assert 'class="bin"' in html and "ECE 1.23%" in html  # the reliability diagram, from the calibration
    assert "mnist_test (10000): 99.54% → 99.61%" in html
    assert "feedback_holdout (40): 85.00% → 92.50%" in html
    assert "passed against <code>shipped</code>: promoted" in html
    assert 'class="is-active"' in html and "<code>v2</code>" in html
    assert "promote <code>v2</code>" in html  # the history
    assert "<script" not in html and "style=" not in html  # nothing the page's CSP would refuse


def test_admin_report_writes_the_pages_figures(instance, tmp_path) -> None:
    registry = ModelRegistry.in_instance(instance, WEIGHTS)
    out = tmp_path / "report"
    written = write_report(registry, None, out)
    names = sorted(p.name for p in written)
    assert names == ["accuracy.svg", "confusion.svg", "loss.svg", "per_class.svg", "reliability_after.svg",
                     "summary.txt"]
    figures = card_figures(registry.card("v2"))
    for path in written:
        if path.suffix == ".svg":
            assert path.read_text() == figures[path.stem] + "\n"
            ET.parse(path)
    summary = (out / "summary.txt").read_text()
    assert "model v2 (mlp-v2)" in summary and "784 -> 800 -> 800 -> 11" in summary
    assert "MNIST test 98.88%" in summary  # the card's 11-output accuracy (a rejected MNIST digit counts as wrong)
    assert "passed mnist_test 99.54% -> 99.61%; feedback_holdout 85.00% -> 92.50%" in summary
    shipped = write_report(registry, "shipped", tmp_path / "shipped")
    assert "reliability_after.svg" not in {p.name for p in shipped}  # the shipped card has no calibration


def test_admin_report_command(instance, tmp_path) -> None:
    """`python -m app.admin report` for real, as a subprocess: the served version by default."""
    out = tmp_path / "cli-report"
    env = {**os.environ, "DIGIT_CANVAS_INSTANCE": str(instance), "DIGIT_CANVAS_WEIGHTS": str(WEIGHTS)}
    proc = subprocess.run([sys.executable, "-m", "app.admin", "report", "--out", str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == {"accuracy.svg", "confusion.svg", "loss.svg", "per_class.svg",
                                              "reliability_after.svg", "summary.txt"}
    assert str(out / "summary.txt") in proc.stdout
    assert "model v2" in (out / "summary.txt").read_text()
    proc = subprocess.run([sys.executable, "-m", "app.admin", "report", "--version", "nope", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "no version 'nope'" in proc.stderr
