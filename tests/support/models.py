"""Small servable models for the tests: one helper where the feedback and fault suites each had one."""
from __future__ import annotations

from pathlib import Path

from model.artifacts import weights_file
from model.nn.network import MLP


def tiny_model(version: str | None = None, seed: int = 0) -> MLP:
    """A small servable MLP (784 -> 8 -> 10), with ``version`` in its metadata if given."""
    net = MLP(hidden_sizes=(8,), seed=seed)
    if version:
        net.metadata = {"version": version}
    return net


def save_model(path: Path, version: str, seed: int = 0) -> bytes:
    """A tiny model saved atomically at `path`; returns the file's bytes."""
    weights_file.save(tiny_model(version, seed), path)
    return path.read_bytes()


def model_bytes(tmp: Path, version: str, seed: int = 0) -> bytes:
    """The bytes of a servable weights file, built beside `tmp` and not left there."""
    data = save_model(tmp, version, seed)
    tmp.unlink()
    return data


def add_version(registry, seed: int = 0) -> str:
    """Stage a tiny model and move it into the registry as the next version."""
    version = f"v{len(registry.versions()) + 1}"
    staging = registry.staging_dir()
    weights_file.save(tiny_model(version, seed), staging / "mlp.npz")
    registry.add(staging, version)
    return version
