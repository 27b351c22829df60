import os
import subprocess
import sys
from pathlib import Path

import pytest

from model.artifacts import weights_file

ROOT = Path(__file__).resolve().parents[2]


def run_module(module: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """`python -m module args...` from the repo root, output captured as text."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, **kwargs)


def start_module(module: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "instance" / "feedback.sqlite3"


def tiny_model(version: str | None = None, seed: int = 0):
    """A small servable MLP (784 -> 10), saved by the tests where they need one."""
    from model.nn.network import MLP

    net = MLP(hidden_sizes=(8,), seed=seed)
    if version:
        net.metadata = {"version": version}
    return net


@pytest.fixture
def registry(tmp_path):
    from app.serving.model_registry import ModelRegistry

    shipped = tmp_path / "weights" / "mlp.npz"
    weights_file.save(tiny_model("shipped-weights"), shipped)
    return ModelRegistry.in_instance(tmp_path / "instance", shipped)


def add_version(registry, seed: int = 0) -> str:
    """Stage a tiny model and move it into the registry as the next version."""
    version = f"v{len(registry.versions()) + 1}"
    staging = registry.staging_dir()
    weights_file.save(tiny_model(version, seed), staging / "mlp.npz")
    registry.add(staging, version)
    return version


@pytest.fixture
def admin(registry):
    """Run an admin command against the registry fixture's instance folder."""
    instance = registry.root.parent

    def run(*args, **kwargs):
        return run_module("app.admin", "--instance", str(instance), "--weights", str(registry.shipped),
                          *args, **kwargs)

    run.instance = instance
    return run
