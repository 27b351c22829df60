"""The application factory (Flask tutorial style): settings, hooks, model holder, blueprints.

It imports serving code only: the admin command is registered by name and imports app.admin
(and through it the training code) only when an operator runs it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

import click
from flask import Flask, Response, current_app
from flask.cli import with_appcontext

from app.middleware import access_log, metrics, request_id, security_headers
from app.middleware.body_guard import guard_body
from app.middleware.errors import register_error_handlers
from app.middleware.json_limits import BoundedJSONProvider
from app.settings import REPO_ROOT, Settings
from app.serving.model_holder import ModelHolder
from app.serving.shared_registry import open_registry


class DigitCanvasApp(Flask):
    def ensure_sync(self, func: Callable) -> Callable:
        """Flask's, answered once per function: Flask asks inspect whether each hook and view is a
        coroutine function on every request (nine times per /predict, about 15 us in all)."""
        cache = self.__dict__.setdefault("_sync_functions", {})
        try:
            return cache[func]
        except KeyError:
            sync = cache[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)

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
    settings = {**Settings.from_env().flask_config(), **(config or {})}
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
    # With DIGIT_CANVAS_DATABASE_URL the registry is the database every server shares (polled per interval).
    interval = app.config.get("MODEL_CHECK_INTERVAL", 1.0)
    registry = open_registry(app.instance_path, app.config["WEIGHTS_PATH"], app.config.get("DATABASE_URL"), interval)
    holder = ModelHolder(app.config["WEIGHTS_PATH"], registry, interval,
                         on_reload=app.extensions["metrics"].reloaded)
    app.extensions["metrics"].serving(metrics.served_version(holder))
    app.extensions["model_holder"] = holder
    app.before_request(holder.refresh)

    from app.middleware import rate_limits
    from app.routes import explain as explain_api
    from app.routes import feedback as feedback_api
    from app.routes import model_page
    from app.routes import number as number_api
    from app.routes import pages
    from app.routes import predict as api

    register_error_handlers(app)
    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(explain_api.bp)
    app.register_blueprint(model_page.bp)
    app.register_blueprint(number_api.bp)
    feedback_api.init_app(app)
    rate_limits.init_app(app)  # after the limited routes are registered
    app.cli.add_command(admin_command)  # lazy: see admin_command
    app.wsgi_app = guard_body(app.wsgi_app)  # type: ignore[method-assign]  # every body reader: 4xx, not 500
    return app


@click.command("admin", add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def admin_command(argv: tuple[str, ...]) -> None:
    """Operator commands (feedback, retrain, models); `flask --app app admin --help` lists them."""
    from app.admin.cli import main  # only now: a serving worker never loads the admin or training code

    code = main(list(argv), instance=Path(current_app.instance_path),
                weights=Path(current_app.config["WEIGHTS_PATH"]), prog="flask --app app admin")
    raise SystemExit(code)
