"""Retrain: the feedback split, the gate, and the whole run on a small budget with real MNIST."""
import json
import logging
import signal
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from app.feedback.store import FeedbackStore, encode_original
from app.serving.model_registry import SHIPPED, load_servable
from app.admin.retrain import GateReport, decide, holdout_mask, run_gate
from model.artifacts import weights_file
from model.data.mnist import load_mnist
from tests.support.models import tiny_model
from tests.support.processes import start_module

# The plain reference recipe (SGD, no augmentation) on a small budget, with a small share of the
# honest recipe's drawn data: seconds, not minutes.
PLAIN = ["--optimizer", "sgd", "--lr", "0.1", "--augment", "off", "--drawn-scale", "0.05", "--quiet"]
SMALL = ["--limit", "3000", "--epochs", "3", "--hidden", "32", *PLAIN]


def test_holdout_is_stable_and_close_to_the_fraction():
    ids = np.arange(1, 5001)
    held = holdout_mask(ids, 0.2)
    assert 0.18 < held.mean() < 0.22
    np.testing.assert_array_equal(holdout_mask(ids[:100], 0.2), held[:100])  # more rows change nothing
    assert not holdout_mask(ids, 0.0).any()


def _sets(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return {"a": (rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)),
            "empty": (np.zeros((0, 784), np.float32), np.zeros(0, int))}


def test_gate_passes_the_same_model_and_skips_empty_sets():
    net = tiny_model("x")
    report = run_gate(net, "old", net, "new", _sets(), tolerance_points=0.0)
    assert report.passed and report.rows[0].change_points == 0
    assert report.rows[1].active is None and report.rows[1].change_points is None
    assert "old" in report.table() and "new" in report.table()


def test_gate_refuses_a_worse_candidate_beyond_the_tolerance():
    sets = _sets()
    x, _ = sets["a"]
    good = tiny_model("good")
    sets["a"] = (x, good.predict(x))  # good is right on every image by construction
    bad = tiny_model("bad", seed=5)
    bad_acc = float((bad.predict(x) == sets["a"][1]).mean())
    report = run_gate(good, "good", bad, "bad", sets, tolerance_points=0.2)
    assert not report.passed and "a" in report.reasons[0]
    loose = run_gate(good, "good", bad, "bad", sets, tolerance_points=100 * (1 - bad_acc) + 0.01)
    assert loose.passed


def test_gate_refuses_when_the_served_model_is_unreadable():
    report = run_gate(None, "v9", tiny_model(), "new", _sets(), tolerance_points=0.2)
    assert not report.passed and "cannot be loaded" in report.reasons[0]
    assert isinstance(report, GateReport) and report.to_dict()["passed"] is False


@pytest.mark.parametrize("force, no_promote, promote, says", [
    (False, False, False, "refused by the gate"),
    (True, False, True, "promoted by --force"),
    (True, True, False, "refused by the gate"),
])
def test_force_overrides_a_refusal_and_says_so(caplog, force, no_promote, promote, says):
    refused = run_gate(tiny_model(), "old", tiny_model(seed=3), "new", _sets(), 0.0)
    assert not refused.passed
    args = SimpleNamespace(force=force, no_promote=no_promote)
    caplog.set_level(logging.INFO, logger="app.admin")
    assert decide(refused, args)[0] is promote
    assert says in decide(refused, args)[1]
    assert ("promoting it anyway because of --force" in caplog.text) is promote


def test_no_promote_keeps_a_passing_candidate_unserved():
    passed = run_gate(tiny_model(), "old", tiny_model(), "new", _sets(), 0.0)
    assert decide(passed, SimpleNamespace(force=False, no_promote=True))[0] is False
    assert decide(passed, SimpleNamespace(force=False, no_promote=False)) == (True, "passed the gate")


@pytest.fixture(scope="module")
def mnist():
    return load_mnist(progress=False)  # fails (never skips) if MNIST cannot be had


def _add_upside_down_sevens(store, mnist, model, n=60):
    """Sevens turned 180 degrees: a handwriting the model has never seen, labelled 7."""
    sevens = mnist.test_images[mnist.test_labels == 7][:n][:, ::-1, ::-1]
    predicted = model.logits(sevens.reshape(n, 784) / 255.0)[:, :10].argmax(axis=1)  # the answer's `digit`
    for img, p in zip(sevens, predicted):
        store.add(label=7, predicted=int(p), confidence=0.9, model_version=model.version,
                  seen=img, original_png=encode_original(Image.fromarray(np.ascontiguousarray(img))))
    return sevens, predicted


@pytest.mark.slow
def test_retrain_learns_feedback_gate_promotes_and_refuses_rollback_restores(admin, registry, mnist):
    # A small first model; the fixture's "shipped" model is untrained, so it passes the gate.
    out = admin("retrain", *SMALL)
    assert out.returncode == 0, out.stderr
    first = registry.active_version()
    assert first != SHIPPED and registry.versions() == [first]

    store = FeedbackStore.in_folder(admin.instance)
    sevens, predicted = _add_upside_down_sevens(store, mnist, load_servable(registry.active_path()))
    assert (predicted == 7).mean() < 0.2  # the model gets these wrong

    # Same budget plus the feedback: better on the held-out drawings, promoted.
    out = admin("retrain", *SMALL, "--feedback-oversample", "20", "--feedback-holdout", "0.3",
                "--tolerance", "2")
    assert out.returncode == 0, out.stderr
    assert "feedback holdout" in out.stdout and "passed the gate" in out.stderr
    second = registry.active_version()
    assert second not in (first, SHIPPED)
    learned = load_servable(registry.active_path())
    assert (learned.predict(sevens.reshape(-1, 784) / 255.0) == 7).mean() > 0.9
    card = json.loads((registry.root / second / "mlp.json").read_text())
    assert card["parent_version"] == first and card["gate"]["passed"] is True
    holdout = card["gate"]["sets"]["feedback holdout"]
    assert holdout["size"] == card["feedback"]["holdout"] > 5
    assert holdout["candidate"] > holdout["active"] + 0.5

    # A much worse candidate (tiny budget, no feedback): stored, refused, not served.
    out = admin("retrain", "--limit", "300", "--epochs", "1", "--hidden", "8", *PLAIN,
                "--feedback-oversample", "0")
    assert out.returncode == 3, out.stderr
    assert "gate refused the candidate" in out.stderr
    assert registry.active_version() == second and len(registry.versions()) == 3

    listing = admin("models", "list").stdout
    assert "refused" in listing and "passed" in listing

    assert admin("models", "rollback").returncode == 0
    assert registry.active_version() == first
    assert registry.rollback() == SHIPPED


def test_ctrl_c_during_training_changes_nothing(registry, mnist):
    v1 = "v1"
    staging = registry.staging_dir()
    weights_file.save(tiny_model(v1), staging / "mlp.npz")
    registry.add(staging, v1)
    registry.promote(v1)
    before = sorted(p.name for p in registry.root.iterdir())
    history = registry.history_file.read_bytes()
    proc = start_module("app.admin", "--instance", str(registry.root.parent), "--weights",
                        str(registry.shipped), "retrain", "--limit", "20000", "--epochs", "200",
                        "--hidden", "64", "--optimizer", "sgd", "--augment", "off", "--drawn-scale", "0.02")
    try:
        for line in proc.stderr:
            if line.startswith("epoch 1/200"):
                break
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "nothing was changed" in err and "Traceback" not in err
    assert sorted(p.name for p in registry.root.iterdir()) == before  # no version, no staging left
    assert registry.active_version() == v1 and registry.history_file.read_bytes() == history


# The same flags through both front ends, then their extras: --quick must mean the same to both.
QUICK_RUN = ["--quick", "--limit", "1000", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize("flags", [["--quick"], ["--quick", "--augment", "on"], [], ["--quick", "--epochs", "2"]])
def test_admin_retrain_parses_training_flags_like_the_train_command(flags):
    """Both go through model.training.options.parse_training_argv; the admin's used to keep augmenting on --quick."""
    import argparse

    from app.admin.cli import retrain_parser
    from app.admin.retrain import retrain_config
    from model.cli.train import build_parser as train_parser
    from model.training.options import parse_training_argv

    args = argparse.Namespace(argv=["retrain", *flags], parser=retrain_parser("python -m app.admin"))
    _, expected = parse_training_argv(train_parser(), flags)
    assert retrain_config(args).to_dict() == expected.to_dict()


def test_admin_retrain_quick_trains_the_honest_commands_quick_recipe(admin, registry, tmp_path):
    """End to end: the candidate's card and model.cli.honest's card record the same hyperparameters
    (no augmentation, 11 outputs) and the same drawn data (--quick: a quarter of SIZES)."""
    from model.training.honest import drawn_sizes
    from tests.support.processes import run_module

    run = [*QUICK_RUN, "--drawn-scale", "0.1"]
    out = admin("retrain", *run, "--no-promote")
    assert out.returncode == 0, out.stderr
    admin_card = registry.card(registry.versions()[-1])
    trained = run_module("model.cli.honest", *run, "--out", str(tmp_path / "quick.npz"))
    assert trained.returncode == 0, trained.stderr
    honest_card = json.loads((tmp_path / "quick.json").read_text())
    assert admin_card["hyperparameters"] == honest_card["hyperparameters"]
    assert admin_card["hyperparameters"]["augment"] is None and admin_card["hyperparameters"]["epochs"] == 1
    assert admin_card["architecture"]["num_classes"] == honest_card["architecture"]["num_classes"] == 11
    drawn = {k: v for k, v in admin_card["data"]["drawn"].items() if not k.startswith("feedback_")}
    assert drawn == {k: v for k, v in honest_card["data"]["drawn"].items() if not k.startswith("feedback_")}
    assert drawn["sizes"] == drawn_sizes(0.1, quick=True)


def test_gate_checks_drawn_digits_and_the_not_a_digit_rate_of_an_11_output_model():
    """The held-out drawn sets are gate rows; a candidate that stops rejecting non-digits is refused
    when the served model has the "not a digit" output (not when it only has low confidence)."""
    from model.data.honest import DrawnSet
    from model.training.honest import widen_to_not_digit
    from app.admin.retrain import DRAWN_DIGITS, NON_DIGITS

    rng = np.random.default_rng(0)
    x = rng.random((20, 784), dtype=np.float32)
    drawn = {DRAWN_DIGITS: DrawnSet(x[:10], np.arange(10), ["digits"] * 10, ["f"] * 10),
             NON_DIGITS: DrawnSet(x[10:], np.full(10, 10), ["shapes"] * 10, ["f"] * 10)}
    rejecting = widen_to_not_digit(tiny_model())
    rejecting.dense[-1].b[10] = 50.0  # calls everything "not a digit"
    plain = widen_to_not_digit(tiny_model())
    report = run_gate(rejecting, "old", plain, "new", {}, 0.2, verdict_sets=drawn)
    rows = {r.name: r for r in report.rows}
    assert rows[NON_DIGITS].active == 1.0 and rows[NON_DIGITS].candidate < 1.0
    assert not report.passed and NON_DIGITS in " ".join(report.reasons)
    ten = run_gate(tiny_model(), "old", tiny_model(), "new", {}, 0.2, verdict_sets=drawn)
    assert ten.passed and {r.name for r in ten.rows} == {DRAWN_DIGITS, NON_DIGITS}
