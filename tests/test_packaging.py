"""pyproject.toml: the two packages and the console scripts the README names."""
from __future__ import annotations

import importlib
import tomllib

from app.settings import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_console_scripts_are_the_documented_ones() -> None:
    assert PYPROJECT["project"]["scripts"] == {
        "digit-canvas-train": "model.cli.train:main",
        "digit-canvas-evaluate": "model.cli.evaluate:main",
        "digit-canvas-study": "model.cli.study:main",
        "digit-canvas-data": "model.cli.data:main",
        "digit-canvas-admin": "app.admin.cli:main",
    }


def test_every_console_script_is_a_main_function() -> None:
    for target in PYPROJECT["project"]["scripts"].values():
        module, name = target.split(":")
        assert callable(getattr(importlib.import_module(module), name)), target


def test_only_the_product_packages_are_installed() -> None:
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["app*", "model*"]


def test_the_package_depends_on_every_pinned_runtime_requirement() -> None:
    """requirements.txt is the lock (exact versions); pyproject.toml must name the same packages."""
    pinned = {line.split("==")[0].strip().lower() for line in
              (REPO_ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
              if line.strip() and not line.startswith("#")}
    declared = {dep.split(">")[0].split("=")[0].split("<")[0].strip().lower()
                for dep in PYPROJECT["project"]["dependencies"]}
    assert pinned == declared
