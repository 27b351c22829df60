"""model.training.honest and its CLI (model.cli.honest): the 11th output, the stored temperature,
the card's honesty figures."""
from __future__ import annotations

import json

import numpy as np

from model.artifacts import weights_file
from model.cli import honest as honest_cli
from model.nn.calibration import temperature_of
from model.nn.network import MLP
from model.training import honest


def test_widening_keeps_the_digit_outputs() -> None:
    net = MLP(hidden_sizes=(16,), seed=3)
    wide = honest.widen_to_not_digit(net)
    x = np.random.default_rng(0).random((7, 784), dtype=np.float32)
    assert wide.spec["num_classes"] == 11
    assert np.allclose(wide.forward(x)[:, :10], net.forward(x), atol=1e-6)
    assert np.all(wide.forward(x)[:, 10] == 0)


def test_a_small_honest_run_writes_a_calibrated_11_output_model(tmp_path, mnist) -> None:
    out = tmp_path / "honest.npz"
    assert honest_cli.main(["--quick", "--limit", "2000", "--epochs", "1", "--drawn-scale", "0.1",
                        "--quiet", "--out", str(out)]) == 0
    model = weights_file.load(out)
    card = json.loads(out.with_suffix(".json").read_text())
    assert model.spec["num_classes"] == 11 and model.metadata["outputs"][-1] == "not_a_digit"
    t = temperature_of(model.metadata)
    assert t == card["calibration"]["temperature"] and t != 1.0 and 0.05 < t < 20
    figures = card["honesty"]
    assert set(figures) == {"MNIST test", "drawn digits (held out)", "non-digits (held out)"}
    assert 0 <= figures["non-digits (held out)"]["not_a_digit"] <= 1
    assert len(figures["non-digits (held out)"]["by_kind"]) >= 5
    for name in ("MNIST test", "drawn digits (held out)"):
        assert {"accuracy", "ece_before", "ece_after", "verdicts"} <= set(figures[name])
    assert card["data"]["drawn"]["nondigits"] > 0 and card["command"].startswith("python -m model.cli.honest")
