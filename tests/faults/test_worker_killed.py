"""A worker SIGKILLed under load: gunicorn's master starts a replacement, the load goes on, and only
the requests on connections the dead worker held fail, as a connection error the client can retry."""
from __future__ import annotations

import http.client
import os
import signal
from pathlib import Path

import pytest

from tests.app.drawings import canvas_png
from tests.faults.conftest import Load, healthz, wait_for
from tests.live_server import LiveServer

CONNECTION_ERRORS = ("RemoteDisconnected", "ConnectionResetError", "BrokenPipeError", "ConnectionAbortedError",
                     "IncompleteRead")


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (the gunicorn master's workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4, after the "(comm)" that may hold spaces
                found.add(int(entry.name))
    return found


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_only_its_in_flight_requests_fail(tmp_path):
    clients = 3
    with LiveServer(tmp_path / "gunicorn.log") as server, \
            Load(server, "/predict", canvas_png("seven"), "image/png", clients=clients, pause=0.005) as load:
        load.wait_for_requests(30)
        workers = children(server.pid)
        assert len(workers) == 2, workers
        victim = healthz(server)["pid"]
        assert victim in workers  # a worker of the server this test started, nothing else
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(children(server.pid) - {victim}) == 2, "the master to start a replacement")
        replacement = (children(server.pid) - workers).pop()
        wait_for(lambda: healthz(server)["pid"] == replacement, "the replacement worker to answer", timeout=20)
        load.wait_for_requests(30)
        log = server.log_text()
    failures = [o for o in load.outcomes if o.status != 200]
    # Each client holds one keep-alive connection; the ones the dead worker held break, at most one
    # request each (the one in flight or the next one sent on it), then the client reconnects.
    assert len(failures) <= clients, failures
    for failure in failures:
        assert failure.status == 0 and failure.detail.startswith(CONNECTION_ERRORS), failure
        later = [o for o in load.outcomes if o.client == failure.client and o.at > failure.at]
        assert later and later[0].status == 200  # sending the same request again succeeded
    assert load.count() > 60
    assert f"Worker (pid:{victim}) was sent SIGKILL" in log
    assert f"Booting worker with pid: {replacement}" in log
    assert f"worker {replacement} serving model" in log
    assert "Traceback" not in log
