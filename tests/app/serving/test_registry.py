"""Model registry: versions, atomic pointer, promote/rollback history, cheap change detection."""
import hashlib
import os

import numpy as np
import pytest

from app.serving.model_registry import (
    SHIPPED, ChangeWatcher, ModelRegistry, RegistryError, file_signature, load_servable,
)
from model.artifacts import weights_file
from model.artifacts.weights_file import ModelFileError
from model.nn.network import MLP
from tests.support.models import add_version, tiny_model


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_without_trained_versions_the_shipped_weights_are_served(registry):
    assert registry.versions() == []
    assert registry.active_version() == SHIPPED
    assert registry.active_path() == registry.shipped
    assert load_servable(registry.active_path()).version == "shipped-weights"


def test_versions_are_numbered_and_listed_in_order(registry):
    made = [add_version(registry, seed) for seed in range(11)]
    assert made == [f"v{i}" for i in range(1, 12)]
    assert registry.versions() == made  # v10 after v9, not after v1
    assert weights_file.load(registry.path_of("v3")).version == "v3"
    assert not [p for p in registry.root.iterdir() if p.name.startswith(".staging-")]


def test_promote_and_rollback_walk_the_history_and_never_touch_the_shipped_file(registry):
    shipped_sha = _sha(registry.shipped)
    v1, v2, v3 = (add_version(registry, s) for s in range(3))
    assert registry.promote(v1) == SHIPPED
    assert registry.promote(v2) == v1
    assert registry.promote(v3) == v2
    assert registry.active_version() == v3
    assert registry.rollback() == v2
    assert registry.rollback() == v1
    assert registry.active_path() == registry.root / v1 / "mlp.npz"
    assert registry.rollback() == SHIPPED
    assert registry.active_path() == registry.shipped
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback()
    assert [(e["action"], e["version"], e["previous"]) for e in registry.history()] == [
        ("promote", v1, SHIPPED), ("promote", v2, v1), ("promote", v3, v2),
        ("rollback", v2, v3), ("rollback", v1, v2), ("rollback", SHIPPED, v1),
    ]
    assert _sha(registry.shipped) == shipped_sha


def test_rollback_after_promoting_the_same_version_twice(registry):
    v1, v2 = add_version(registry, 0), add_version(registry, 1)
    registry.promote(v1)
    registry.promote(v2)
    registry.promote(v1)
    assert registry.rollback() == v2
    assert registry.rollback() == v1


def test_unknown_or_corrupt_versions_are_never_promoted(registry):
    v1 = add_version(registry)
    registry.promote(v1)
    with pytest.raises(ModelFileError, match="not found"):
        registry.promote("v99")
    with pytest.raises(RegistryError, match="not a valid version"):
        registry.promote("../../etc")
    path = registry.path_of(add_version(registry, 1))
    path.write_bytes(path.read_bytes()[:500])  # truncated on disk
    with pytest.raises(ModelFileError):
        registry.promote("v2")
    assert registry.active_version() == v1


def test_a_model_of_the_wrong_shape_is_not_servable(registry, tmp_path):
    staging = registry.staging_dir()
    weights_file.save(MLP(input_size=100, hidden_sizes=(4,)), staging / "mlp.npz")
    with pytest.raises(ModelFileError, match="784 -> 10"):
        registry.add(staging, "v1")
    assert registry.versions() == []


def test_pointer_is_replaced_atomically(registry):
    v1, v2 = add_version(registry, 0), add_version(registry, 1)
    registry.promote(v1)
    inode = os.stat(registry.pointer).st_ino
    registry.promote(v2)
    assert os.stat(registry.pointer).st_ino != inode  # a new file renamed over the old one
    assert registry.pointer.read_text() == f"{v2}\n"
    assert not [p for p in registry.root.iterdir() if p.name.endswith(".tmp")]


def test_watcher_stats_at_most_once_per_interval(registry):
    now = [100.0]
    watcher = ChangeWatcher(lambda: file_signature(registry.pointer), interval=1.0, clock=lambda: now[0])
    assert watcher.changed() is False  # no pointer yet, nothing changed
    registry.promote(add_version(registry))
    assert watcher.changed() is False  # looked 0 s ago: no stat, no news yet
    now[0] += 1.0
    assert watcher.changed() is True
    registry.promote(add_version(registry, 1))
    now[0] += 0.5
    assert watcher.changed() is False  # too soon to look
    now[0] += 0.6
    assert watcher.changed() is True
    assert watcher.changed() is False
    now[0] += 5
    assert watcher.changed() is False  # looked again, nothing new


def test_watcher_sees_a_same_size_rewrite_within_one_clock_tick(registry):
    v1, v2 = add_version(registry, 0), add_version(registry, 1)
    registry.promote(v1)
    watcher = ChangeWatcher(lambda: file_signature(registry.pointer), interval=0.0)
    registry.promote(v2)  # same length name, possibly the same mtime: the inode differs
    assert watcher.changed() is True


def test_registries_share_state_through_the_files_only(registry):
    other = ModelRegistry(registry.root, registry.shipped)
    v1 = add_version(registry)
    other.promote(v1)
    assert registry.active_version() == v1 and registry.versions() == [v1]
    assert np.allclose(load_servable(registry.active_path()).dense[0].W,
                       tiny_model(v1, 0).dense[0].W)


def test_files_are_readable_by_workers_of_another_user(registry):
    v1 = add_version(registry)
    registry.promote(v1)
    assert os.stat(registry.pointer).st_mode & 0o777 == 0o644
    assert os.stat(registry.root / v1).st_mode & 0o777 == 0o755
    assert os.stat(registry.path_of(v1)).st_mode & 0o777 == 0o644
