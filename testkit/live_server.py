"""The real service for tests: `make run`'s gunicorn command on 127.0.0.1 and a free port.

One starter for every suite (API, browser, feedback, faults): it waits until each worker has
loaded its model and /healthz answers, and it stops only the process group it started.
"""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "weights" / "mlp.npz"
APP = "app:create_app()"
CONFIG = REPO / "app" / "deploy" / "gunicorn_conf.py"
# For servers that take hundreds of requests from one address on purpose (load, hot swap); the
# limits themselves are tested in tests/hardening/test_rate_limits.py.
NO_RATE_LIMITS = {"DIGIT_CANVAS_PREDICT_LIMIT": "1000000/second", "DIGIT_CANVAS_FEEDBACK_LIMIT": "1000000/second"}
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


class HttpResponse(NamedTuple):
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """gunicorn serving the app; a context manager, and `stop()` may end it early in a test.

    By default it serves the shipped weights with an instance folder (feedback database,
    promoted models) next to the log, so each server starts with no stored data.
    """

    def __init__(self, log_path: Path, workers: int = 2, env: dict[str, str] | None = None,
                 startup_timeout: float = 60.0, config: Path = CONFIG) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.url = f"http://{self.host}:{self.port}"
        self.log_path = Path(log_path)
        self.workers = workers
        # The server's config decides these; and each server gets its own metrics folder: one inherited
        # from a test that ran gunicorn_conf.py in-process would be shared, and every new server's
        # when_ready would delete the running ones' metric files.
        base = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARS and k != "PROMETHEUS_MULTIPROC_DIR"}
        self.env = {"DIGIT_CANVAS_WEIGHTS": str(WEIGHTS), "DIGIT_CANVAS_INSTANCE": str(self.log_path.parent / "instance"),
                    **base, "HOST": self.host, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers), **(env or {})}
        self.startup_timeout = startup_timeout
        self.config = config  # gunicorn's -c file: the deployment's own unless a test wraps it
        self.process: subprocess.Popen | None = None
        self.returncode: int | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "server not started"
        return self.process.pid

    def start(self) -> "LiveServer":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(self.config), APP], cwd=REPO, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.returncode = self.process.returncode
                raise RuntimeError(f"gunicorn exited with {self.returncode}:\n{self.log_tail()}")
            try:
                ready = self.log_text().count("serving model") >= self.workers
                if ready and self.request("GET", "/healthz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"no answer from {self.url}/healthz in {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Graceful stop (the master ends its workers); SIGKILL to our process group if it hangs."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self.returncode = process.returncode

    def connect(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                conn: http.client.HTTPConnection | None = None, timeout: float = 30.0) -> HttpResponse:
        """One request; over `conn` (kept open, for keep-alive tests) or a fresh connection."""
        own = conn is None
        conn = conn or self.connect(timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            return HttpResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
        finally:
            if own:
                conn.close()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:]) or "(no log)"

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
