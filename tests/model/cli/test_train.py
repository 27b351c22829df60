"""model/cli/train.py in-process: the weights and a complete model card."""
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.artifacts import weights_file
from model.cli.train import PROG, main
from model.training.loop import as_features


def test_main_writes_weights_and_a_complete_card(mnist, tmp_path):
    out = tmp_path / "w" / "m.npz"
    argv = ["--limit", "1500", "--epochs", "2", "--hidden", "32", "--seed", "3", "--augment", "off",
            "--out", str(out), "--quiet"]
    assert main(argv) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    for key in ("version", "created_at", "weights_sha256", "architecture", "hyperparameters", "command",
                "data", "validation_accuracy", "test_accuracy", "validation", "test", "best_epoch",
                "kept_epoch", "curves", "training_seconds"):
        assert card[key] is not None, key
    assert card["weights_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    model = weights_file.load(out)
    assert model.version == card["version"] and re.fullmatch(r"mlp-\d{8}-\d{6}-[0-9a-f]{8}", card["version"])
    assert card["command"] == f"{PROG} " + " ".join(argv)
    assert card["architecture"]["layers"] == [784, 32, 10]
    assert card["hyperparameters"]["seed"] == 3 and card["hyperparameters"]["limit"] == 1500
    assert set(card["curves"][0]) >= {"epoch", "lr", "train_loss", "train_accuracy", "val_loss",
                                      "val_accuracy", "seconds"}
    assert len(card["curves"]) == 2
    assert card["data"]["files_sha256"]["t10k-labels-idx1-ubyte"].startswith("ff7bcfd4")
    cm = np.array(card["test"]["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10000 == card["data"]["test_size"]
    assert np.trace(cm) / 10000 == pytest.approx(card["test_accuracy"])
    assert len(card["test"]["per_class_accuracy"]) == 10
    test_acc = np.mean(model.predict(as_features(mnist.test_images)) == mnist.test_labels)
    assert test_acc == pytest.approx(card["test_accuracy"], abs=2e-4)
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.json", "m.npz"]  # no temp files left
    for path in out.parent.iterdir():  # readable by a server running as another user
        assert path.stat().st_mode & 0o777 == 0o644


def test_the_same_command_gives_the_same_model_in_another_process_and_names_its_code(tmp_path):
    """Bit for bit across processes at the same thread count, augmentation thread included."""
    root = Path(__file__).resolve().parents[3]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    cards = []
    for run in ("a", "b"):
        out = tmp_path / run / "m.npz"
        done = subprocess.run([sys.executable, "-m", "model.cli.train", "--limit", "1500", "--epochs", "1",
                               "--hidden", "32", "--augment", "on", "--threads", "1", "--quiet", "--out", str(out)],
                              cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        cards.append(json.loads(out.with_suffix(".json").read_text()))
    a, b = cards
    assert a["version"][-8:] == b["version"][-8:]  # the parameters' hash
    assert [r["train_loss"] for r in a["curves"]] == [r["train_loss"] for r in b["curves"]]
    assert re.fullmatch(r"[0-9a-f]{40}", a["code"]["commit"]) and isinstance(a["code"]["model_uncommitted_changes"], bool)
