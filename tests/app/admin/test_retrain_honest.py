"""`python -m app.admin retrain` trains the honest recipe (model.training.honest, the shipped model's):
11 outputs, calibrated, with "not a digit" feedback as non-digit examples, gated like with like."""
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app.admin.retrain import DRAWN_DIGITS, FEEDBACK_HOLDOUT, FEEDBACK_NOT_DIGIT, MNIST_TEST, NON_DIGITS
from app.feedback.store import NOT_A_DIGIT, FeedbackStore, encode_original
from app.serving.model_registry import SHIPPED, load_servable
from model.imaging.preprocess import preprocess

# Real MNIST slice, real drawn data (a small share of the shipped recipe's), seconds per run.
HONEST_SMALL = ["--quick", "--limit", "3000", "--epochs", "3", "--drawn-scale", "0.05", "--quiet"]


def _star(rng: np.random.Generator) -> Image.Image:
    """A five-pointed star drawn with a pen, as a user would on the 280x280 pad (not a digit)."""
    image = Image.new("L", (280, 280), 255)
    cx, cy = rng.uniform(110, 170, 2)
    r, turn = rng.uniform(70, 110), rng.uniform(0, 2 * np.pi)
    points = [(cx + r * np.cos(turn + k * 4 * np.pi / 5), cy + r * np.sin(turn + k * 4 * np.pi / 5)) for k in range(6)]
    ImageDraw.Draw(image).line(points, fill=0, width=int(rng.integers(10, 22)), joint="curve")
    return image


def _add_not_a_digit_stars(store: FeedbackStore, n: int = 80) -> None:
    rng = np.random.default_rng(12)
    for _ in range(n):
        drawing = _star(rng)
        seen = np.round(preprocess(drawing).vector.reshape(28, 28) * 255).astype(np.uint8)
        store.add(label=NOT_A_DIGIT, predicted=8, confidence=0.97, model_version="user", seen=seen,
                  original_png=encode_original(drawing))


def _gate(registry, version):
    return json.loads((registry.root / version / "mlp.json").read_text())


@pytest.mark.slow
def test_retrain_learns_not_a_digit_feedback_with_the_honest_recipe_and_gates_like_with_like(admin, registry):
    # The fixture's shipped model is untrained with 10 outputs: the first honest candidate beats it.
    out = admin("retrain", *HONEST_SMALL, "--feedback-oversample", "0")
    assert out.returncode == 0, out.stderr
    first = registry.active_version()
    assert first != SHIPPED
    served = load_servable(registry.active_path())
    assert served.spec["num_classes"] == 11 and served.metadata["calibration"]["temperature"] > 0
    card = _gate(registry, first)
    assert card["command"].startswith("python -m app.admin retrain --quick")
    assert {"honesty", "calibration"} <= set(card) and card["data"]["drawn"]["nondigits"] > 0

    # Users flag stars as "not a digit": retrain with them learns to reject held-out stars.
    store = FeedbackStore.in_folder(admin.instance)
    _add_not_a_digit_stars(store)
    out = admin("retrain", *HONEST_SMALL, "--feedback-oversample", "10", "--feedback-holdout", "0.3",
                "--tolerance", "10")
    assert out.returncode == 0, out.stderr
    assert "passed the gate" in out.stderr and FEEDBACK_NOT_DIGIT in out.stdout
    second = registry.active_version()
    card = _gate(registry, second)
    assert card["parent_version"] == first
    assert card["feedback"]["train_not_a_digit"] == card["feedback"]["train"] > 40
    assert card["data"]["drawn"]["feedback_nondigits"] == 10 * card["feedback"]["train"]
    sets = card["gate"]["sets"]
    assert set(sets) == {MNIST_TEST, FEEDBACK_HOLDOUT, DRAWN_DIGITS, NON_DIGITS, FEEDBACK_NOT_DIGIT}
    stars = sets[FEEDBACK_NOT_DIGIT]
    assert stars["size"] == card["feedback"]["holdout_not_a_digit"] > 10
    assert stars["candidate"] > 0.9 and stars["candidate"] > stars["active"] + 0.1
    # like with like: both models have 11 outputs, so every row is a bar (none left out as unfair)
    assert all(sets[name]["active"] is not None for name in (MNIST_TEST, DRAWN_DIGITS, NON_DIGITS))

    # The same recipe without the stars is refused against it: it no longer rejects them.
    out = admin("retrain", *HONEST_SMALL, "--feedback-oversample", "0", "--feedback-holdout", "0.3", "--tolerance", "10")
    assert out.returncode == 3, out.stderr
    assert f"on {FEEDBACK_NOT_DIGIT}" in out.stderr and registry.active_version() == second


def test_retrain_init_served_fine_tunes_the_served_model_and_rejects_a_mismatch(admin, registry):
    """--init served starts from the served model (widened to 11 outputs); other --hidden: exit 2, nothing stored."""
    out = admin("retrain", *HONEST_SMALL, "--epochs", "1", "--init", "served", "--hidden", "64", "--no-promote")
    assert out.returncode == 2 and "hidden sizes" in out.stderr and registry.versions() == []
    hidden = ",".join(str(h) for h in load_servable(registry.shipped).spec["hidden_sizes"])
    out = admin("retrain", *HONEST_SMALL, "--epochs", "1", "--init", "served", "--hidden", hidden, "--no-promote")
    assert out.returncode == 0, out.stderr
    card = registry.card(registry.versions()[-1])
    assert card["init"]["version"] == "shipped-weights" and card["init"]["path"] == str(registry.shipped)
