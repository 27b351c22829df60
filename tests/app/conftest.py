"""Fixtures for the web service tests (Flask tutorial style: app, client) and a real gunicorn."""
from __future__ import annotations

from typing import Iterator

import pytest

from app import create_app
from tests.live_server import WEIGHTS, LiveServer


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance")})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as server:
        yield server
