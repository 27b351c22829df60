"""Digit Canvas web service: application factory (Flask tutorial style)."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from app.config import REPO_ROOT, settings_from_env
from app.errors import register_error_handlers
from app.model_holder import ModelHolder


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the settings read from the environment."""
    app = Flask(__name__, template_folder=str(REPO_ROOT / "templates"), static_folder=str(REPO_ROOT / "static"))
    app.config.from_mapping(settings_from_env())
    if config:
        app.config.from_mapping(config)
    # A data URL in a plain (non-file) multipart field may be as large as a whole body.
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # The one model holder of this worker: weights are loaded once, here.
    app.extensions["model_holder"] = ModelHolder(app.config["WEIGHTS_PATH"])

    from app import api, pages

    register_error_handlers(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    return app
