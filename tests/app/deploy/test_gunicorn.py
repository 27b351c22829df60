"""The real server: gunicorn with app/deploy/gunicorn_conf.py on 127.0.0.1, spoken to over HTTP."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
from PIL import Image

from app.settings import REPO_ROOT
from testkit.live_server import LiveServer
from testkit.drawings import canvas_png, data_url, encode

PNG = canvas_png("one", "alpha_only")
BLANK = encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)), "PNG")  # a cleared canvas


def multipart(field: str, filename: str, data: bytes, media_type: str = "image/png") -> tuple[bytes, str]:
    boundary = "digit-canvas-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {media_type}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_healthz_and_startup_log_name_the_model(live_server: LiveServer) -> None:
    response = live_server.request("GET", "/healthz")
    assert response.status == 200 and response.headers["content-type"] == "application/json"
    health = json.loads(response.body)
    log = live_server.log_path.read_text()
    assert f"serving model {health['model']} (sha256 {health['sha256']})" in log
    assert log.count("serving model") == 2  # one line per worker


def test_config_binds_from_env_and_pins_blas_to_one_thread_before_numpy() -> None:
    """The master reads the config before any worker imports NumPy; workers inherit its environment."""
    script = (
        "import os, runpy, sys; c = runpy.run_path('app/deploy/gunicorn_conf.py'); "
        "print(c['bind'], c['workers'], os.cpu_count(), os.environ['OPENBLAS_NUM_THREADS'], "
        "os.environ['OMP_NUM_THREADS'], 'numpy' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "WEB_CONCURRENCY"}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(env, HOST="127.0.0.1", PORT="8123"), check=True).stdout.split()
    assert out[0] == "127.0.0.1:8123" and out[1] == out[2]  # one worker per core
    assert out[3:] == ["1", "1", "False"]
    default = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=60, env={k: v for k, v in env.items() if k not in ("HOST", "PORT")}, check=True)
    assert default.stdout.split()[0] == "127.0.0.1:8000"


def test_predict_in_every_form_over_one_keep_alive_connection(live_server: LiveServer) -> None:
    conn = live_server.connect()
    try:
        body, content_type = multipart("image", "pad.png", PNG)
        requests = [
            (PNG, {"Content-Type": "image/png"}),
            (body, {"Content-Type": content_type}),
            (json.dumps({"image": data_url(PNG)}).encode(), {"Content-Type": "application/json"}),
        ]
        for payload, headers in requests * 2:
            response = live_server.request("POST", "/predict", payload, headers, conn=conn)
            assert response.status == 200, response.body
            assert json.loads(response.body)["digit"] == 1
            assert response.headers.get("connection", "").lower() != "close"
    finally:
        conn.close()


@pytest.mark.parametrize(
    "method,path,body,headers,status,code",
    [
        ("GET", "/missing", None, {}, 404, "not_found"),
        ("GET", "/predict", None, {}, 405, "method_not_allowed"),
        ("POST", "/predict", b"junk", {"Content-Type": "image/png"}, 400, "undecodable_image"),
        ("POST", "/predict", PNG, {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        ("POST", "/predict", BLANK, {"Content-Type": "image/png"}, 422, "empty_image"),
    ],
)
def test_errors_are_json_over_http(live_server, method, path, body, headers, status, code) -> None:
    response = live_server.request(method, path, body, headers)
    assert response.status == status
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body)["error"]["code"] == code


def test_oversized_body_is_a_json_413(live_server: LiveServer) -> None:
    response = live_server.request("POST", "/predict", b"\x00" * (6 * 1024 * 1024), {"Content-Type": "image/png"})
    assert response.status == 413
    assert json.loads(response.body)["error"]["code"] == "too_large"


def test_concurrent_clients_are_all_answered(live_server: LiveServer) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        conn = live_server.connect()
        try:
            for _ in range(10):
                status = live_server.request("POST", "/predict", PNG, {"Content-Type": "image/png"}, conn=conn).status
                with lock:
                    statuses.append(status)
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * 80


def test_limits_come_from_the_environment(tmp_path) -> None:
    with LiveServer(tmp_path / "gunicorn.log", env={"DIGIT_CANVAS_MAX_CONTENT_LENGTH": "500"}) as server:
        response = server.request("POST", "/predict", PNG, {"Content-Type": "image/png"})
        assert len(PNG) > 500 and response.status == 413
    assert server.returncode == 0


def test_missing_weights_stop_the_server_with_a_clear_message(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="weights file not found"):
        LiveServer(tmp_path / "gunicorn.log", env={"DIGIT_CANVAS_WEIGHTS": str(tmp_path / "none.npz")}).start()
