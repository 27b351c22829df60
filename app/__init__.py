"""Digit Canvas web service (Flask): ``create_app`` builds it; the package itself imports nothing heavy."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, Any] | None = None) -> "Flask":
    """Build the app (app/factory.py). Imported on call so that ``import app.settings`` (gunicorn's
    config, the admin CLI) loads neither Flask nor NumPy."""
    from app.factory import create_app as build

    return build(config)
