"""model.training.loop: learning, determinism, best-epoch checkpoint, data handling, the model card."""
import numpy as np
import pytest

from model.artifacts import weights_file
from model.nn.network import MLP
from model.training.config import TrainConfig
from model.training.loop import Split, as_features, split_train_val, train, train_and_save

SMALL = dict(hidden=(64,), epochs=3, batch_size=64, val_size=300, limit=2000, optimizer="sgd", augment=None)


def _states_equal(a: MLP, b: MLP) -> bool:
    return all(np.array_equal(a.state()[k], b.state()[k]) for k in a.state())


def test_training_on_a_small_subset_learns(mnist):
    model, history = train(TrainConfig(**SMALL), mnist, progress=False)
    curves = history["epochs"]
    assert [r["epoch"] for r in curves] == [1, 2, 3]
    assert curves[-1]["train_loss"] < curves[0]["train_loss"] / 2
    assert curves[-1]["val_accuracy"] > 0.85  # 1,700 images, 3 epochs
    assert history["train_size"] == 1700 and history["val_size"] == 300
    x = as_features(mnist.test_images[:2000])
    assert np.mean(model.predict(x) == mnist.test_labels[:2000]) > 0.85


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.2, "optimizer": "adam"},
                                   {"augment": {"elastic_alpha": 10.0}}],
                         ids=["sgd", "adam-dropout", "augmented"])
def test_same_seed_same_weights_bit_for_bit(mnist, extra):
    config = dict(SMALL, epochs=1 if "augment" in extra else 2, **extra)
    first, h1 = train(TrainConfig(**config), mnist, progress=False)
    again, h2 = train(TrainConfig(**config), mnist, progress=False)
    assert _states_equal(first, again)
    assert [r["val_loss"] for r in h1["epochs"]] == [r["val_loss"] for r in h2["epochs"]]
    other, _ = train(TrainConfig(**dict(config, seed=1)), mnist, progress=False)
    assert not _states_equal(first, other)


def test_keep_best_restores_the_best_validation_epoch(mnist):
    """Validation labels shifted by one reward the least-trained model: epoch 1 must be kept.

    With a constant learning rate a 1-epoch run is exactly the first epoch of a longer
    one, so the kept parameters must equal it bit for bit.
    """
    split = split_train_val(mnist.train_images, mnist.train_labels, 300, seed=0, limit=2000)
    wrong = Split(split.train_x, split.train_y, split.val_x, (split.val_y + 1) % 10)
    config = dict(hidden=(32,), batch_size=64, optimizer="sgd", schedule="constant", lr=0.05, augment=None)
    best, history = train(TrainConfig(epochs=4, **config), wrong, progress=False)
    assert history["best_epoch"] == 1 and history["kept_epoch"] == 1
    val_losses = [r["val_loss"] for r in history["epochs"]]
    assert val_losses[0] == min(val_losses)
    first_epoch, _ = train(TrainConfig(epochs=1, keep_best=False, **config), wrong, progress=False)
    assert _states_equal(best, first_epoch)
    last, h_last = train(TrainConfig(epochs=4, keep_best=False, **config), wrong, progress=False)
    assert h_last["kept_epoch"] == 4 and not _states_equal(best, last)


def test_validation_split_is_disjoint_and_extra_images_only_train():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (100, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = np.arange(100)  # a tag to recognise each image
    labels = rng.integers(0, 10, 100).astype(np.uint8)
    extra = (np.full((5, 784), 0.5, dtype=np.float32), np.full(5, 3))
    split = split_train_val(images, labels, val_size=20, seed=0, extra=extra)
    tags = lambda x: set(np.round(x[:, 0] * 255).astype(int))  # noqa: E731
    assert len(split.val_x) == 20 and len(split.train_x) == 85
    assert tags(split.val_x).isdisjoint(tags(split.train_x[:80]))
    assert tags(split.val_x) | tags(split.train_x[:80]) == set(range(100))
    np.testing.assert_array_equal(split.train_x[80:], extra[0])
    assert split.train_x.dtype == np.float32 and split.train_x.max() <= 1.0


def test_train_accepts_arrays_plus_extra_images(mnist):
    x, y = mnist.train_images[:1500], mnist.train_labels[:1500]
    extra = (mnist.test_images[:200], mnist.test_labels[:200])
    config = TrainConfig(hidden=(16,), epochs=1, val_size=300, augment=None)
    _, history = train(config, (x, y), progress=False, extra=extra)
    assert history["train_size"] == 1200 + 200 and history["extra_size"] == 200


@pytest.mark.parametrize("bad, message", [
    ((np.zeros((3, 10, 10), np.uint8), np.zeros(3, np.uint8)), "28x28"),
    ((np.full((3, 784), 2.0), np.zeros(3, np.uint8)), r"\[0, 1\]"),
    ((np.zeros((3, 784), np.uint8), np.array([0, 1, 10])), "0-9"),
    ((np.zeros((3, 784), np.uint8), np.zeros(4, np.uint8)), "3 labels"),
])
def test_bad_training_data_is_refused_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        train(TrainConfig(hidden=(4,), epochs=1, val_size=1), bad, progress=False)


def test_train_and_save_mixes_extra_images_and_describes_them(mnist, tmp_path):
    """The admin retrain's entry point: user drawings join training, the card says so."""
    extra = (np.full((40, 28, 28), 0.25, dtype=np.float32), np.full(40, 7))
    config = TrainConfig(hidden=(16,), epochs=1, limit=1000, val_size=100, optimizer="sgd", augment=None)
    model, card = train_and_save(config, mnist, tmp_path / "cand.npz", command="admin retrain", extra=extra,
                                 progress=False)
    assert card["data"]["extra_size"] == 40 and card["data"]["train_size"] == 900 + 40
    assert card["command"] == "admin retrain" and weights_file.load(tmp_path / "cand.npz").version == card["version"]
    assert 0 < card["test_accuracy"] <= 1 and card["test"]["n"] == 10000
