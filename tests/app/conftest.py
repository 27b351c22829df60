"""Fixtures for the web service tests (Flask tutorial style: app, client) and a real gunicorn."""
from __future__ import annotations

from typing import Iterator

import pytest

from app import create_app
from tests.live_server import NO_RATE_LIMITS, WEIGHTS, LiveServer

# The hypothesis tests send hundreds of requests from one address (see NO_RATE_LIMITS).
UNLIMITED = {"PREDICT_LIMIT": "1000000/second", "FEEDBACK_LIMIT": "1000000/second"}


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
