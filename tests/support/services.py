"""Real PostgreSQL and Redis servers for the tests, on 127.0.0.1 and a free port.

Debian's packages (postgresql, redis-server: `make test` installs them). A missing binary is an
error, never a skip. Postgres refuses to run as root, so when the tests run as root initdb and
pg_ctl run as the `postgres` system user (runuser) on a temporary data folder it owns.
Each server is one process we started; `kill()` ends exactly that pid (to test an outage), and
`start()` brings it back on the same port and data. The session fixtures `postgres` and `redis`
(tests/conftest.py) start one of each for the whole run.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from testkit.live_server import free_port

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def pg_bin(name: str) -> str:
    """A PostgreSQL server program (Debian keeps them out of PATH, under /usr/lib/postgresql/N/bin)."""
    for folder in sorted(glob.glob(PG_BIN_GLOB), reverse=True):
        if os.access(Path(folder) / name, os.X_OK):
            return str(Path(folder) / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: `make test` installs Debian's postgresql "
                           "(or: apt-get install postgresql)")
    return found


def wait_for_port(port: int, timeout: float, alive=lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server meant for port {port} exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class PostgresServer:
    """A throw-away cluster: trust authentication on 127.0.0.1 only, fsync off (test data:
    a killed server loses nothing already handed to the OS, and synchronous_commit stays on, so a
    commit that returned survives a kill)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="digit-canvas-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.process: subprocess.Popen | None = None
        if os.geteuid() == 0:
            self.root.chmod(0o755)
            shutil.chown(self.root, "postgres", "postgres")
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-instructions", "-N")

    def _as_owner(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def _run(self, *argv: str) -> None:
        result = subprocess.run(self._as_owner(*argv), capture_output=True, text=True, cwd=self.root)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> "PostgresServer":
        """The postmaster itself as our child (not pg_ctl's daemon), so its pid is the one we end."""
        log = open(self.log, "ab")
        self.process = subprocess.Popen(
            self._as_owner(pg_bin("postgres"), "-D", str(self.data), "-p", str(self.port), "-c",
                           "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}",
                           "-c", "fsync=off", "-c", "full_page_writes=off",
                           "-c", "max_connections=100"),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, 30, alive=lambda: self.process.poll() is None)
        self._wait_accepting()
        return self

    def _wait_accepting(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:  # "the database system is starting up"
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL to the postmaster we started (its backends then exit on their own)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGINT)  # "fast" shutdown

    def _signal(self, sig: int) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        # runuser is our child; the postmaster is its child in the same (new) session.
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        if sig == signal.SIGKILL:  # backends notice the dead postmaster; wait until the port is free
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (self.data / "postmaster.pid").exists():
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        pass
                except OSError:
                    break
                time.sleep(0.05)

    def new_database(self) -> str:
        """A fresh, empty database on this server; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """redis-server with no persistence, bound to 127.0.0.1."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError("redis-server is not installed: `make test` installs Debian's redis-server "
                               "(or: apt-get install redis-server)")
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="digit-canvas-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        log = open(self.root / "redis.log", "ab")
        self.process = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, 10, alive=lambda: self.process.poll() is None)
        return self

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)

