"""Digit Canvas web service: application factory (Flask tutorial style)."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask, Response

from app.middleware import access_log, metrics, request_id, security_headers
from app.middleware.errors import register_error_handlers
from app.middleware.json_limits import BoundedJSONProvider
from app.settings import REPO_ROOT, settings_from_env
from app.serving.model_holder import ModelHolder
from app.serving.model_registry import ModelRegistry


class DigitCanvasApp(Flask):
    def make_default_options_response(self) -> Response:
        """OPTIONS: 204 with Allow and no body (Flask's default is an empty 200 typed text/html)."""
        response = super().make_default_options_response()
        response.status_code = 204
        del response.headers["Content-Type"]
        return response


def observe(app: Flask) -> None:
    """Request ids, security headers, access log and metrics: registered before any other hook,
    so the request timer starts first and the access line sees the final response."""
    access_log.init_app(app)
    request_id.init_app(app)
    security_headers.init_app(app)
    metrics.init_app(app)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the settings read from the environment."""
    settings = {**settings_from_env(), **(config or {})}
    app = DigitCanvasApp(__name__, template_folder=str(REPO_ROOT / "templates"), static_folder=str(REPO_ROOT / "static"),
                instance_path=settings["INSTANCE_PATH"])
    app.config.from_mapping(settings)
    # A data URL in a plain (non-file) multipart field may be as large as a whole body.
    app.config["MAX_FORM_MEMORY_SIZE"] = app.config["MAX_CONTENT_LENGTH"]
    app.json = BoundedJSONProvider(app)  # refuses request bodies nested deeper than a few levels
    app.json.sort_keys = False  # type: ignore[attr-defined]
    observe(app)

    # The one model holder of this worker: the promoted version (or the shipped weights) is
    # loaded here; a promotion is picked up between requests (one stat() per second at most).
    registry = ModelRegistry.in_instance(app.instance_path, app.config["WEIGHTS_PATH"])
    holder = ModelHolder(app.config["WEIGHTS_PATH"], registry, app.config.get("MODEL_CHECK_INTERVAL", 1.0),
                         on_reload=app.extensions["metrics"].reloaded)
    app.extensions["metrics"].serving(metrics.served_version(holder))
    app.extensions["model_holder"] = holder
    app.before_request(holder.refresh)

    from app.middleware import rate_limits
    from app.routes import feedback as feedback_api
    from app.routes import pages
    from app.routes import predict as api
    from app.routes import number as number_api
    from app.admin.cli import admin_command

    register_error_handlers(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(number_api.bp)
    feedback_api.init_app(app)
    rate_limits.init_app(app)  # after the limited routes are registered
    app.cli.add_command(admin_command)
    return app
