"""The shipped weights/mlp.npz on the real 10,000 MNIST test images (no skip without MNIST)."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from model.artifacts import weights_file
from model.cli.train import build_parser
from model.training.loop import as_features
from model.training.options import parse_training_argv

WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "mlp.npz"
PRODUCT_FLOOR = 0.983  # the product's requirement for any shipped model
SHIPPED_FLOOR = 0.990  # what the augmented 784-800-800-10 model must keep (it measured 99.54%)


@pytest.fixture(scope="module")
def shipped():
    return weights_file.load(WEIGHTS)


def test_shipped_model_reaches_the_required_test_accuracy(shipped, mnist):
    predicted = shipped.predict(as_features(mnist.test_images))
    accuracy = float(np.mean(predicted == mnist.test_labels))
    assert len(predicted) == 10000
    assert accuracy >= PRODUCT_FLOOR, f"shipped model: {accuracy:.2%} on the MNIST test set"
    assert accuracy >= SHIPPED_FLOOR, f"shipped model: {accuracy:.2%} on the MNIST test set"


def test_shipped_card_describes_the_shipped_file(shipped, mnist):
    card = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert card["weights_sha256"] == hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()
    assert card["version"] == shipped.version
    assert card["architecture"]["hidden_sizes"] == shipped.spec["hidden_sizes"]
    assert card["command"].startswith("python -m model.train")  # the shipped card records the command of its day
    predicted = shipped.predict(as_features(mnist.test_images))
    # Same weights, same images; BLAS rounding may move a borderline image or two.
    assert abs(np.mean(predicted == mnist.test_labels) - card["test_accuracy"]) <= 2e-4


def test_plain_train_command_reproduces_the_shipped_recipe():
    """`python -m model.cli.train` with no flags trains exactly the shipped model's configuration."""
    card = json.loads(WEIGHTS.with_suffix(".json").read_text())
    _, defaults = parse_training_argv(build_parser(), [])
    assert defaults.to_dict() == card["hyperparameters"]
