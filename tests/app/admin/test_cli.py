"""The admin CLI in a temporary instance folder: in-process through click's CliRunner, and once as
the operator runs it (`python -m app.admin`, a child process) and once through `flask --app app admin`."""
import csv
import io

import numpy as np
import pytest
from PIL import Image

from app import create_app
from app.feedback.store import FeedbackStore
from app.serving.model_registry import ModelRegistry
from tests.support.models import add_version
from tests.support.feedback_writer import row_values


@pytest.fixture
def store(admin):
    store = FeedbackStore.in_folder(admin.instance)
    for label, predicted, model in [(3, 3, "v1"), (3, 5, "v1"), (7, 1, "v2"), (7, 7, "v2"), (7, 7, "v2")]:
        store.add(**{**row_values(label), "label": label, "predicted": predicted, "model_version": model})
    return store


def test_help_explains_every_command(admin):
    out = admin("--help")
    assert out.returncode == 0
    for words in ["feedback stats", "feedback export", "feedback purge", "retrain", "models list",
                  "models promote", "models rollback"]:
        assert words in out.stdout
    for sub in (["feedback", "--help"], ["models", "--help"]):
        assert admin(*sub).returncode == 0


def test_stats_counts_per_digit_and_per_model(admin, store):
    out = admin("feedback", "stats")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "5 drawings" in lines[0] and "right on 3 (60.0%)" in lines[0]
    assert any(line.split() == ["3", "2", "1", "50.0%"] for line in lines)
    assert any(line.split() == ["7", "3", "2", "66.7%"] for line in lines)
    assert any(line.split() == ["v2", "3", "2", "66.7%"] for line in lines)


def test_export_to_a_folder_of_pngs_and_csv(admin, store, tmp_path):
    out = admin("feedback", "export", str(tmp_path / "dump"))
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "dump" / "feedback.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["label"]) for r in rows] == [3, 3, 7, 7, 7]
    first = rows[0]
    seen = np.asarray(Image.open(tmp_path / "dump" / first["seen_png"]))
    assert seen.shape == (28, 28) and (seen == 3).all()  # row_values(3) fills with 3
    Image.open(tmp_path / "dump" / first["original_png"]).load()
    again = admin("feedback", "export", str(tmp_path / "dump"))
    assert again.returncode == 2 and "not empty" in again.stderr


def test_export_to_npz(admin, store, tmp_path):
    assert admin("feedback", "export", str(tmp_path / "fb.npz")).returncode == 0
    with np.load(tmp_path / "fb.npz") as data:
        assert data["images"].shape == (5, 28, 28) and data["images"].dtype == np.uint8
        assert data["labels"].tolist() == [3, 3, 7, 7, 7]
        assert data["model_version"].tolist() == ["v1", "v1", "v2", "v2", "v2"]


def test_purge_asks_and_only_yes_deletes(admin, store):
    refused = admin("feedback", "purge", input="")  # no terminal: cannot ask
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert store.count() == 5
    done = admin("feedback", "purge", "--yes")
    assert done.returncode == 0 and "purged 5" in done.stdout
    assert store.count() == 0


def test_models_list_promote_rollback(admin, registry):
    v1, v2 = add_version(registry, 0), add_version(registry, 1)
    listing = admin("models", "list")
    assert listing.returncode == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()[2:5]] == ["*", v1, v2]
    assert admin("models", "promote", v2, "--note", "looks good").returncode == 0
    assert ModelRegistry(registry.root, registry.shipped).active_version() == v2
    assert admin("models", "list").stdout.splitlines()[4].split()[:2] == ["*", v2]
    out = admin("models", "rollback")
    assert out.returncode == 0 and f"from {v2} to shipped" in out.stderr
    assert registry.active_version() == "shipped"
    assert registry.history()[0]["note"] == "looks good"


def test_models_errors_are_one_clear_line(admin, registry):
    out = admin("models", "promote", "v42")
    assert out.returncode == 1 and "not found" in out.stderr and "Traceback" not in out.stderr
    out = admin("models", "rollback")
    assert out.returncode == 1 and "nothing to roll back" in out.stderr


def test_the_same_commands_through_flask(registry, monkeypatch):
    """`flask --app app admin ...` (Flask's own CLI runner, in-process): the app's instance and weights."""
    v1 = add_version(registry)
    app = create_app({"INSTANCE_PATH": str(registry.root.parent), "WEIGHTS_PATH": str(registry.shipped)})
    run = lambda *args: app.test_cli_runner().invoke(args=["admin", *args])  # noqa: E731
    assert "Usage: flask --app app admin" in run("--help").output  # prog name as the Flask command
    assert run("models", "promote", v1).exit_code == 0
    assert registry.active_version() == v1
    assert run("models", "rollback").exit_code == 0 and registry.active_version() == "shipped"
    assert run("models", "rollback").exit_code == 1


def test_python_m_app_admin_as_the_operator_runs_it(registry):
    """The one child process: `python -m app.admin` exits with the command's status, errors on stderr."""
    from tests.support.processes import run_module

    v1 = add_version(registry)
    paths = ["--instance", str(registry.root.parent), "--weights", str(registry.shipped)]
    out = run_module("app.admin", *paths, "models", "list")
    assert out.returncode == 0 and v1 in out.stdout
    out = run_module("app.admin", *paths, "models", "promote", "v42")
    assert out.returncode == 1 and "not found" in out.stderr and "Traceback" not in out.stderr
    assert run_module("app.admin", *paths, "bogus").returncode == 2


def test_a_database_from_a_newer_release_is_one_clear_error(admin, store):
    import sqlite3

    sqlite3.connect(store.path, isolation_level=None).execute("PRAGMA user_version = 99")
    out = admin("feedback", "stats")
    assert out.returncode == 1 and "Upgrade the program" in out.stderr and "Traceback" not in out.stderr

