"""app/settings.py: read once, typed, one resolution of DIGIT_CANVAS_INSTANCE for the app and the
admin CLI, and the server's HOST/PORT used by gunicorn only (no dead Flask config keys)."""
from __future__ import annotations

import dataclasses
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import create_app
from app.settings import REPO_ROOT, Settings


def test_defaults_from_an_empty_environment() -> None:
    settings = Settings.from_env({})
    assert settings.weights_path == REPO_ROOT / "weights" / "mlp.npz"
    assert settings.instance_path == REPO_ROOT / "instance"
    assert settings.bind == "127.0.0.1:8000" and settings.workers == (os.cpu_count() or 1)
    assert settings.threads == 2 and settings.request_read_timeout == 10.0


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env({}).port = 1  # type: ignore[misc]


@pytest.mark.parametrize("name, value, says", [
    ("PORT", "eighty", "whole number"), ("WEB_CONCURRENCY", "0", "positive"),
    ("GUNICORN_REQUEST_READ_TIMEOUT", "-1", "positive"), ("DIGIT_CANVAS_MAX_IMAGE_PIXELS", "-5", "negative"),
])
def test_a_bad_value_names_its_variable(name: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=f"{name}.*{says}"):
        Settings.from_env({name: value})


def test_host_and_port_are_the_servers_not_the_apps(tmp_path: Path) -> None:
    settings = Settings.from_env({"HOST": "0.0.0.0", "PORT": "9123"})
    assert settings.bind == "0.0.0.0:9123"
    assert not {"HOST", "PORT"} & set(settings.flask_config())
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert "HOST" not in app.config and "PORT" not in app.config


def test_gunicorn_config_takes_its_values_from_settings() -> None:
    env = {**os.environ, "HOST": "127.0.0.2", "PORT": "8124", "WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "4",
           "GUNICORN_MAX_REQUESTS": "700"}
    script = ("import runpy; c = runpy.run_path('app/deploy/gunicorn_conf.py'); "
              "print(c['bind'], c['workers'], c['threads'], c['max_requests'], c['SETTINGS'].instance_path)")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout.split()
    assert out[:4] == ["127.0.0.2:8124", "3", "4", "700"]


def test_a_relative_instance_is_the_same_folder_for_the_app_and_the_cli(tmp_path: Path, monkeypatch) -> None:
    """Relative to the repository for both, whatever the current directory (the CLI used the cwd)."""
    target = tmp_path / "somewhere" / "instance"
    relative = os.path.relpath(target, REPO_ROOT)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("DIGIT_CANVAS_INSTANCE", relative)
    assert Path(create_app().instance_path) == target

    from app.admin.cli import cli

    result = CliRunner().invoke(cli, ["feedback", "stats"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"in {target / 'feedback.sqlite3'}" in result.stdout
    assert not (elsewhere / relative).exists()  # nothing created relative to the cwd
