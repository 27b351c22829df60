"""Under real gunicorn (2 workers) and a steady /predict load, the weights file is replaced, rewritten
in place, corrupted, truncated, deleted and made unreadable. The service must keep answering every
request with a valid model (the last good one while the file is refused) and pick up a good file."""
from __future__ import annotations

import os
import re

import pytest

from testkit.drawings import canvas_png
from tests.support.faults import REFUSAL, Load, every_worker, fault_server, overwrite_in_place
from tests.support.models import model_bytes, save_model

def serving(version: str):
    return lambda health: health["model"] == version and health["weights_ok"]


def refusing(version: str, error: str):
    return lambda health: (health["model"] == version and not health["weights_ok"]
                           and re.search(error, health["weights_error"] or "") is not None)


@pytest.mark.slow
def test_a_replaced_or_rewritten_weights_file_is_picked_up_by_every_worker_without_a_failed_request(
        tmp_path, weights):
    with fault_server(tmp_path, DIGIT_CANVAS_WEIGHTS=str(weights)) as server, \
            Load(server, "/predict", canvas_png("seven"), "image/png") as load:
        load.wait_for_requests(20)
        side = weights.with_name("new.npz")
        save_model(side, "good-2", seed=2)
        os.replace(side, weights)  # atomic: the usual deploy
        every_worker(server, serving("good-2"), what="both workers on good-2")
        load.wait_for_requests(20)
        overwrite_in_place(weights, model_bytes(side, "good-3", seed=3))  # `cp` over the file: not atomic
        every_worker(server, serving("good-3"), what="both workers on good-3")
        load.wait_for_requests(20)
        log = server.log_text()
    assert set(load.statuses()) == {200}, [o for o in load.outcomes if o.status != 200][:5]
    seen = {o.detail for o in load.outcomes}
    assert seen <= {"good-1", "good-2", "good-3"} and {"good-2", "good-3"} <= seen
    assert "Traceback" not in log


@pytest.mark.slow
def test_a_bad_weights_file_is_refused_and_the_last_good_model_keeps_serving(tmp_path, weights):
    good = weights.read_bytes()
    side = weights.with_name("new.npz")
    # (what is done to the file, how many changes a worker may see, the error it then reports);
    # each error differs from the one before, so /healthz shows when both workers saw the change.
    faults = [
        ("corrupt file renamed over it", 1, lambda: (side.write_bytes(b"PK\x03\x04 not weights"),
                                                     os.replace(side, weights)), "not a readable .npz"),
        ("deleted", 1, lambda: weights.unlink(), "not found"),
        ("half-written in place", 2, lambda: overwrite_in_place(weights, good[: len(good) // 3], pieces=2),
         "not a readable .npz"),
        ("a directory in its place", 2, lambda: (weights.unlink(), weights.mkdir()), "is a directory"),
        ("a FIFO in its place", 2, lambda: (weights.rmdir(), os.mkfifo(weights)), "is a FIFO"),
    ]
    with fault_server(tmp_path, DIGIT_CANVAS_WEIGHTS=str(weights)) as server, \
            Load(server, "/predict", canvas_png("seven"), "image/png") as load:
        load.wait_for_requests(20)
        changes = 0
        for what, may_see, do, error in faults:
            do()
            changes += may_see
            every_worker(server, refusing("good-1", error), what=f"both workers to refuse: {what}")
            load.wait_for_requests(20)
        refusals = server.log_text().count(REFUSAL)
        weights.unlink()
        save_model(weights, "good-2", seed=2)  # a good file again
        every_worker(server, serving("good-2"), what="both workers on good-2 again")
        load.wait_for_requests(20)
        log = server.log_text()
    assert set(load.statuses()) == {200}, [o for o in load.outcomes if o.status != 200][:5]
    assert {o.detail for o in load.outcomes} == {"good-1", "good-2"}
    # Each worker logs each change it sees once, not once per request (there were hundreds).
    assert 2 * len(faults) <= refusals <= 2 * changes, refusals
    assert len(load.outcomes) > 5 * refusals
    assert "Traceback" not in log


def test_the_server_refuses_to_start_without_a_servable_model(tmp_path, weights):
    """At start, a bad file is an operator's mistake to see at once (later, workers keep serving)."""
    weights.write_bytes(b"PK\x03\x04 not weights")
    server = fault_server(tmp_path, DIGIT_CANVAS_WEIGHTS=str(weights))
    with pytest.raises(RuntimeError, match="gunicorn exited"):
        server.start()
    assert server.returncode not in (0, None)
    log = server.log_text()
    assert "not starting: no model can be served" in log and "not a readable .npz" in log
    assert "Booting worker" not in log
