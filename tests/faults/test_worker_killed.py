"""A worker SIGKILLed under load: gunicorn's master starts a replacement, the load goes on, and only
the requests on connections the dead worker held fail, as a connection error the client can retry."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from testkit.drawings import canvas_png
from tests.support.faults import Load, every_worker, fault_server, healthz, wait_for
from tests.support.models import save_model

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
    with fault_server(tmp_path) as server, \
            Load(server, "/predict", canvas_png("seven"), "image/png", clients=clients, pause=0.005) as load:
        load.wait_for_requests(30)
        workers = children(server.pid)
        assert len(workers) == 2, workers
        victim = healthz(server)["pid"]  # type: ignore[index]
        assert victim in workers  # a worker of the server this test started, nothing else
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(children(server.pid) - {victim}) == 2, "the master to start a replacement")
        replacement = (children(server.pid) - workers).pop()
        wait_for(lambda: (healthz(server) or {}).get("pid") == replacement, "the replacement worker to answer",
                 timeout=20)
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


@pytest.mark.slow
def test_a_worker_replaced_while_the_weights_file_is_bad_answers_503_and_the_others_keep_serving(
        tmp_path, weights):
    """gunicorn halts every worker when a new one fails to boot; so a worker starting while the file
    is missing starts anyway and answers 503 model_unavailable, the old worker keeps its good model,
    and both serve once a good file is back."""
    with fault_server(tmp_path, DIGIT_CANVAS_WEIGHTS=str(weights)) as server, \
            Load(server, "/predict", canvas_png("seven"), "image/png") as load:
        load.wait_for_requests(20)
        weights.unlink()
        every_worker(server, lambda h: not h["weights_ok"], what="both workers to notice the missing file")
        workers = children(server.pid)
        victim = healthz(server)["pid"]  # type: ignore[index]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(children(server.pid) - {victim}) == 2, "the master to start a replacement")
        replacement = (children(server.pid) - workers).pop()
        wait_for(lambda: f"worker {replacement} has no model" in server.log_text(), "the replacement to boot")

        def unavailable() -> bool:
            resp = server.request("POST", "/predict", canvas_png("seven"), {"Content-Type": "image/png"})
            return resp.status == 503 and json.loads(resp.body)["error"]["code"] == "model_unavailable"

        wait_for(unavailable, "the replacement to answer 503 model_unavailable")
        replacement_refused_at = time.monotonic()
        load.wait_for_requests(20)
        assert server.process.poll() is None  # the master and the other worker are still up
        save_model(weights, "good-2", seed=2)
        every_worker(server, lambda h: h["model"] == "good-2" and h["weights_ok"], what="both workers on good-2")
        recovered = load.count()
        load.wait_for_requests(20)
        log = server.log_text()
    outcomes = load.outcomes
    assert {o.status for o in outcomes} <= {200, 503, 0}
    assert {o.detail for o in outcomes if o.status == 200} <= {"good-1", "good-2"}
    assert {o.detail for o in outcomes if o.status == 503} <= {"model_unavailable"}
    assert sum(o.status == 0 for o in outcomes) <= 3  # only connections the killed worker held
    assert all(o.status == 200 for o in outcomes[recovered:])
    assert any(o.detail == "good-1" and o.at > replacement_refused_at for o in outcomes)  # the old worker served on
    assert "Traceback" not in log and "Worker failed to boot" not in log
