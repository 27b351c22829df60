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


def test_the_admin_script_is_the_cli_main() -> None:
    module, name = PYPROJECT["project"]["scripts"]["digit-canvas-admin"].split(":")
    assert callable(getattr(importlib.import_module(module), name))


def test_only_the_product_packages_are_installed() -> None:
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["app*", "model*"]
