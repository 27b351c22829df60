"""model/training/evaluation.py: cross-validation (no leak from the held-out fold) and confident errors."""
import numpy as np
import pytest

from model.training.config import TrainConfig
from model.training.evaluation import confident_errors, cross_validate
from model.training.loop import train


def test_cross_validation_holds_out_each_fold_once(mnist):
    config = TrainConfig(hidden=(32,), epochs=2, batch_size=32, val_size=100, limit=1200, optimizer="sgd",
                         augment=None)
    result = cross_validate(config, mnist.train_images, mnist.train_labels, k=4, progress=False)
    assert [f["held_out"] for f in result["folds"]] == [300] * 4
    accs = [f["accuracy"] for f in result["folds"]]
    assert result["mean"] == pytest.approx(np.mean(accs)) and result["std"] == pytest.approx(np.std(accs, ddof=1))
    assert min(accs) > 0.5


def _noise(n: int = 200, seed: int = 0):
    """Random images with random labels: nothing to generalise, everything to memorise."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


# Big enough to memorise 200 noise images in 15 epochs; no validation part, last epoch kept.
MEMORISER = TrainConfig(hidden=(128,), epochs=15, batch_size=32, val_size=0, optimizer="adam", lr=1e-3,
                        weight_decay=0.0, keep_best=False, augment=None)


def test_kfold_never_trains_on_the_held_out_fold():
    """On random labels the held-out accuracy is chance (~10%) unless the fold leaked into training,
    where this model would recall it (the control below: it memorises what it trains on)."""
    images, labels = _noise()
    model, _ = train(MEMORISER, (images, labels), progress=False)
    recalled = np.mean(model.predict(images.reshape(200, -1) / np.float32(255)) == labels)
    assert recalled > 0.7  # the control: training images are recalled
    result = cross_validate(MEMORISER, images, labels, k=4, progress=False)
    accs = [f["accuracy"] for f in result["folds"]]
    assert max(accs) < 0.35 and result["mean"] < 0.25, accs


def test_confident_errors_are_the_surest_wrong_answers():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]], dtype=np.float32)
    report = {"probabilities": probs, "predicted": probs.argmax(axis=1)}
    errors = confident_errors(report, np.array([0, 0, 1, 0]), top=5)
    assert [(e["index"], e["true"], e["predicted"]) for e in errors] == [(1, 0, 1), (3, 0, 1), (2, 1, 0)]
    assert [e["confidence"] for e in errors] == pytest.approx([0.8, 0.7, 0.6])
