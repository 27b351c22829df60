"""Fixtures for the web service tests (Flask tutorial style: app, client) and a real gunicorn."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

from app import create_app
from app.config import REPO_ROOT

WEIGHTS = REPO_ROOT / "weights" / "mlp.npz"


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "instance")})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


class HttpResponse(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class LiveServer(NamedTuple):
    host: str
    port: int
    pid: int
    log_path: Path

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
        conn: http.client.HTTPConnection | None = None,
    ) -> HttpResponse:
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return HttpResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            if own:
                conn.close()

    def connect(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    log_path: Path, extra_env: dict[str, str] | None = None, workers: int = 2
) -> tuple[subprocess.Popen, LiveServer]:
    """Run the real `make run` command line on 127.0.0.1 and a free port; wait until every worker is up."""
    port = free_port()
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port), WEB_CONCURRENCY=str(workers), **(extra_env or {}))
    env.setdefault("DIGIT_CANVAS_WEIGHTS", str(WEIGHTS))
    env.setdefault("DIGIT_CANVAS_INSTANCE", str(log_path.parent / "instance"))  # no promoted model, no feedback
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env.pop(name, None)  # the server's own configuration decides
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "app/gunicorn_conf.py", "app:create_app()"],
        cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    log.close()
    server = LiveServer("127.0.0.1", port, proc.pid, log_path)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log_path.read_text()}")
        try:
            ready = log_path.read_text().count("serving model") == workers
            if ready and server.request("GET", "/healthz").status == 200:
                return proc, server
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_gunicorn(proc)
            raise RuntimeError(f"gunicorn did not answer within 30 s:\n{log_path.read_text()}")
        time.sleep(0.1)


def stop_gunicorn(proc: subprocess.Popen) -> None:
    """TERM the master we started (it stops its workers); KILL its process group only if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    proc, server = start_gunicorn(tmp_path_factory.mktemp("gunicorn") / "gunicorn.log")
    try:
        yield server
    finally:
        stop_gunicorn(proc)
