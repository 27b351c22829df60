"""Serving never imports training: neither create_app() in a fresh interpreter nor a real gunicorn
worker loads the training loop, augmentation, the MNIST downloader, the model CLIs or the admin CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from testkit.live_server import REPO, LiveServer

# Prefixes of modules a serving process must never hold (app.admin imports model.training).
TRAINING_ONLY = ("model.training", "model.data.mnist", "model.cli", "app.admin")


def training_modules(names: list[str]) -> list[str]:
    return sorted(n for n in names if any(n == p or n.startswith(p + ".") for p in TRAINING_ONLY))


def after_create_app(tmp_path: Path, then: str) -> str:
    """Run `app = create_app(...)` and then `then` in a fresh interpreter; its stdout."""
    script = (f"import json, sys; from app import create_app; "
              f"app = create_app({{'INSTANCE_PATH': {str(tmp_path / 'instance')!r}}}); {then}")
    return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True).stdout


def test_create_app_in_a_fresh_interpreter_imports_no_training_code(tmp_path: Path) -> None:
    modules = json.loads(after_create_app(tmp_path, "print(json.dumps(sorted(sys.modules)))"))
    assert "app.factory" in modules and "model.nn.network" in modules  # it did build the app
    assert training_modules(modules) == []


def test_a_gunicorn_worker_imports_no_training_code(tmp_path: Path) -> None:
    out = tmp_path / "modules"
    out.mkdir()
    config = REPO / "tests" / "support" / "modules_gunicorn_conf.py"
    with LiveServer(tmp_path / "gunicorn.log", workers=1, env={"MODULES_OUT": str(out)}, config=config) as server:
        assert server.request("GET", "/healthz").status == 200
    dumps = list(out.glob("*.txt"))
    assert len(dumps) == 1
    modules = dumps[0].read_text().splitlines()
    assert "app.factory" in modules and "app.routes.predict" in modules
    assert training_modules(modules) == []


def test_the_flask_admin_command_is_registered_without_importing_it(tmp_path: Path) -> None:
    """`flask --app app admin` still exists (its module loads when it runs: tests/app/admin/test_cli.py)."""
    out = after_create_app(tmp_path, "print('admin' in app.cli.commands, 'app.admin.cli' in sys.modules)")
    assert out.split() == ["True", "False"]
