"""GET /metrics: request counts and latency by route, predictions by digit, rejected inputs by code,
the model each worker serves and its reloads; summed over every gunicorn worker."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from app import create_app
from app.settings import REPO_ROOT
from app.serving.model_registry import ModelRegistry
from model.artifacts import weights_file
from testkit.drawings import canvas_png, data_url, encode
from tests.support.metrics_text import label_values, sample_total
from tests.support.models import add_version, tiny_model
from testkit.live_server import WEIGHTS, LiveServer

ONE = canvas_png("one", "alpha_only")
BLANK = encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)), "PNG")
REQUESTS = "digit_canvas_http_requests_total"


def scrape(client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.get_data(as_text=True)


def test_requests_are_counted_by_route_method_and_status(client) -> None:
    for _ in range(3):
        client.get("/healthz")
    client.get("/predict")
    text = scrape(client)
    assert sample_total(text, REQUESTS, endpoint="/healthz", method="GET", status="200") == 3
    assert sample_total(text, REQUESTS, endpoint="unmatched", method="GET", status="405") == 1
    assert sample_total(text, "digit_canvas_http_request_duration_seconds_count", endpoint="/healthz") == 3
    assert sample_total(text, "digit_canvas_http_request_duration_seconds_bucket", endpoint="/healthz",
                        le="+Inf") == 3


def test_made_up_paths_and_methods_do_not_grow_the_label_sets(client) -> None:
    for i in range(50):
        client.get(f"/scan/{i}/wp-admin.php")
        client.open(f"/x{i}", method=f"M{i}X")
    client.get("/metrics")
    text = scrape(client)
    assert label_values(text, REQUESTS, "endpoint") == {"unmatched", "/metrics"}
    assert label_values(text, REQUESTS, "method") == {"GET", "other"}
    assert sample_total(text, REQUESTS, endpoint="unmatched") == 100


def test_predictions_are_counted_by_digit(client) -> None:
    for _ in range(3):
        assert client.post("/predict", data=ONE, content_type="image/png").json["digit"] == 1
    text = scrape(client)
    assert sample_total(text, "digit_canvas_predictions_total", digit="1") == 3
    assert sample_total(text, "digit_canvas_predictions_total") == 3


def test_rejected_inputs_are_counted_by_error_code(client) -> None:
    client.post("/predict", data=b"junk", content_type="image/png")
    client.post("/predict", data=BLANK, content_type="image/png")
    client.post("/predict", data=BLANK, content_type="image/png")
    client.post("/predict", data=ONE, content_type="text/plain")
    client.post("/feedback", json={"image": data_url(ONE), "label": 12, "predicted": 1, "confidence": 0.9,
                                   "model": "m"})
    client.get("/missing")  # not an input to /predict or /feedback
    text = scrape(client)
    counts = {code: sample_total(text, "digit_canvas_rejected_inputs_total", code=code)
              for code in label_values(text, "digit_canvas_rejected_inputs_total", "code")}
    assert counts == {"undecodable_image": 1, "empty_image": 2, "unsupported_media_type": 1, "invalid_label": 1}


def test_each_app_has_its_own_registry(app, tmp_path) -> None:
    other = create_app({"TESTING": True, "WEIGHTS_PATH": str(WEIGHTS), "INSTANCE_PATH": str(tmp_path / "other")})
    app.test_client().get("/healthz")
    assert sample_total(scrape(other.test_client()), REQUESTS, endpoint="/healthz") == 0
    assert sample_total(scrape(app.test_client()), REQUESTS, endpoint="/healthz") == 1


def test_model_version_and_reloads(tmp_path) -> None:
    shipped = tmp_path / "weights" / "mlp.npz"
    weights_file.save(tiny_model("shipped-weights"), shipped)
    registry = ModelRegistry.in_instance(tmp_path / "instance", shipped)
    app = create_app({"TESTING": True, "WEIGHTS_PATH": str(shipped), "INSTANCE_PATH": str(tmp_path / "instance"),
                      "MODEL_CHECK_INTERVAL": 0.0})
    client = app.test_client()
    assert sample_total(scrape(client), "digit_canvas_model_info", version="shipped-weights") == 1

    registry.promote(add_version(registry, seed=1))
    text = scrape(client)  # this request swaps the model in
    assert sample_total(text, "digit_canvas_model_reloads_total", result="ok") == 1
    text = scrape(client)
    assert sample_total(text, "digit_canvas_model_info", version="v1") == 1
    assert sample_total(text, "digit_canvas_model_info", version="shipped-weights") == 0

    v2 = add_version(registry, seed=2)
    registry.promote(v2)
    registry.path_of(v2).write_bytes(b"damaged after promotion")
    client.get("/healthz")
    text = scrape(client)
    assert sample_total(text, "digit_canvas_model_reloads_total", result="refused") == 1
    assert sample_total(text, "digit_canvas_model_info", version="v1") == 1


# --- the real server: two gunicorn workers, one set of metrics ---------------------------------


def test_metrics_add_up_every_gunicorn_worker(live_server) -> None:
    before = live_server.request("GET", "/metrics").body.decode()
    pids: dict[int, int] = {}
    while len(pids) < 2 or sum(pids.values()) < 20:  # fresh connections: both workers answer
        pid = json.loads(live_server.request("GET", "/healthz").body)["pid"]
        pids[pid] = pids.get(pid, 0) + 1
        assert sum(pids.values()) < 500, "one worker never answered"
    for _ in range(10):
        assert live_server.request("POST", "/predict", ONE, {"Content-Type": "image/png"}).status == 200
    live_server.request("POST", "/predict", BLANK, {"Content-Type": "image/png"})
    after = live_server.request("GET", "/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.body.decode()

    def delta(name: str, **labels: str) -> float:
        return sample_total(text, name, **labels) - sample_total(before, name, **labels)

    # Whichever worker answered /metrics, it counts the requests the other one served too.
    assert delta(REQUESTS, endpoint="/healthz", method="GET", status="200") == sum(pids.values())
    assert delta(REQUESTS, endpoint="/predict", method="POST", status="200") == 10
    assert delta("digit_canvas_predictions_total", digit="1") == 10
    assert delta("digit_canvas_rejected_inputs_total", code="empty_image") == 1
    assert delta("digit_canvas_http_request_duration_seconds_count", endpoint="/predict") == 11
    served = json.loads(live_server.request("GET", "/healthz").body)["model"]
    assert label_values(text, "digit_canvas_model_info", "pid") == {str(p) for p in pids}
    assert sample_total(text, "digit_canvas_model_info", version=served) == 2


def wait_for(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {check.__doc__}")


def test_reloads_logs_and_restarted_workers_over_gunicorn(tmp_path) -> None:
    """Operator's metrics folder emptied at start, no debug mode even if asked, a promotion seen by
    both workers in /metrics and in gunicorn's log, a dead worker's gauge gone."""
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_4242.db").write_bytes(b"left over from an old run, not even valid")
    instance = tmp_path / "instance"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "FLASK_DEBUG": "1", "DIGIT_CANVAS_INSTANCE": str(instance)}
    with LiveServer(tmp_path / "gunicorn.log", env=env) as server:
        assert not (metrics_dir / "counter_4242.db").exists()
        health = server.request("GET", "/healthz").body
        assert b"\n  " not in health  # Flask's debug mode would indent JSON (and show tracebacks)

        registry = ModelRegistry.in_instance(instance, WEIGHTS)
        version = add_version(registry, seed=3)
        registry.promote(version)

        def both_workers_switched():
            """both workers serve the promoted version"""
            seen = {}
            for _ in range(20):
                answer = json.loads(server.request("GET", "/healthz").body)
                seen[answer["pid"]] = answer["model"]
            return len(seen) == 2 and set(seen.values()) == {version} and seen

        pids = wait_for(both_workers_switched)
        text = server.request("GET", "/metrics").body.decode()
        assert sample_total(text, "digit_canvas_model_reloads_total", result="ok") == 2
        assert sample_total(text, "digit_canvas_model_info", version=version) == 2
        log = server.log_text()
        swaps = [line for line in log.splitlines() if f"now serving model {version}" in line]
        assert len(swaps) == 2 and all("[INFO]" in line and "[request_id " in line for line in swaps)

        dead = next(iter(pids))
        os.kill(dead, signal.SIGKILL)  # a worker of the server this test started
        wait_for(lambda: server.log_text().count("serving model") >= 5)  # 2 + 2 swaps + the new worker's
        # the replacement worker's start-up line names the promoted file, not the shipped one
        started = [line for line in server.log_text().splitlines() if f"serving model {version} (sha256" in line]
        assert started and all(line.endswith(f"from {registry.path_of(version)}") for line in started)
        text = wait_for(lambda: (t := server.request("GET", "/metrics").body.decode())
                        and str(dead) not in label_values(t, "digit_canvas_model_info", "pid") and t)
        assert len(label_values(text, "digit_canvas_model_info", "pid")) == 2
        assert sample_total(text, "digit_canvas_model_reloads_total", result="ok") == 2  # counters survive


def test_a_multiprocess_folder_set_too_late_is_reported(tmp_path) -> None:
    """prometheus_client picks its mode at import: gunicorn_conf.py sets the folder before that."""
    script = ("import os, prometheus_client; os.environ['PROMETHEUS_MULTIPROC_DIR'] = os.environ['LATE']; "
              "from app import create_app; "
              f"app = create_app({{'WEIGHTS_PATH': {str(WEIGHTS)!r}, 'INSTANCE_PATH': {str(tmp_path)!r}}}); "
              "print(app.extensions['metrics'].multiproc_dir)")
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, env={**env, "LATE": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"  # this worker's own counts, not a half-shared mix
    assert "set after prometheus_client was imported" in done.stderr
