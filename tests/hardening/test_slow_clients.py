"""Slow and stalled clients cannot take every worker thread; workers are recycled without losing requests.

The server runs 2 workers x 2 threads with a 2 s request read deadline (tests/conftest.py).
Without the deadline (plain gthread), 8 connections that stop half-way through their headers
or body hold all 4 threads and /healthz goes unanswered (measured: no answer in 20 s).
"""
from __future__ import annotations

import json
import runpy
import socket
import threading
import time

from app.settings import REPO_ROOT
from testkit.drawings import canvas_png
from tests.support.raw_http import HANG, READ_TIMEOUT, assert_json_error, parse_responses, read_until_closed
from testkit.live_server import NO_RATE_LIMITS, LiveServer

PNG = canvas_png("one")
THREADS = 2 * 2


def open_stalled(server: LiveServer, kind: str) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=READ_TIMEOUT + HANG)
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {len(PNG)}\r\n"
    if kind == "headers":  # never finishes its headers
        sock.sendall(head.encode())
    elif kind == "body":  # headers, then a third of the body, then nothing
        sock.sendall(head.encode() + b"\r\n" + PNG[: len(PNG) // 3])
    return sock


def trickle(sock: socket.socket, data: bytes, stop: threading.Event) -> None:
    """One byte every 100 ms: alive, but far too slow to finish within the deadline."""
    try:
        for byte in data:
            if stop.wait(0.1):
                return
            sock.sendall(bytes([byte]))
    except OSError:  # cut off by the server: expected
        pass


def test_stalled_and_trickling_clients_do_not_block_normal_requests(hostile_server) -> None:
    stalled = [open_stalled(hostile_server, kind) for kind in ["headers", "body"] * THREADS]
    stop = threading.Event()
    trickling = []
    for _ in range(THREADS):
        sock = socket.create_connection((hostile_server.host, hostile_server.port), timeout=READ_TIMEOUT + HANG)
        sock.sendall(f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     f"Content-Length: {len(PNG)}\r\n\r\n".encode())
        thread = threading.Thread(target=trickle, args=(sock, PNG, stop), daemon=True)
        thread.start()
        trickling.append((sock, thread))
    try:
        time.sleep(0.5)  # every slow connection has been accepted and has a thread or waits for one
        for _ in range(6):  # normal clients, each on a fresh connection
            response = hostile_server.request("POST", "/predict", PNG, {"Content-Type": "image/png"}, timeout=HANG)
            assert response.status == 200 and json.loads(response.body)["digit"] == 1
        # The slow ones were cut: no answer for unfinished headers, a JSON 408 for a stalled body.
        for sock, kind in zip(stalled, ["headers", "body"] * THREADS):
            answer = read_until_closed(sock)
            if kind == "headers":
                assert answer == b""
            else:
                assert assert_json_error(parse_responses(answer)[0], 408) == "request_timeout"
        for sock, _ in trickling:
            [response] = parse_responses(read_until_closed(sock))
            assert assert_json_error(response, 408) == "request_timeout"
    finally:
        stop.set()
        for sock in stalled + [s for s, _ in trickling]:
            sock.close()
    assert "request not received within" in hostile_server.log_text()  # logged in one line, no traceback


def test_a_slow_but_steady_upload_within_the_deadline_is_served(hostile_server) -> None:
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: {len(PNG)}\r\n" \
           "Connection: close\r\n\r\n"
    with socket.create_connection((hostile_server.host, hostile_server.port), timeout=HANG) as sock:
        sock.sendall(head.encode())
        step = len(PNG) // 5 + 1
        for start in range(0, len(PNG), step):
            time.sleep(READ_TIMEOUT / 10)
            sock.sendall(PNG[start:start + step])
        [response] = parse_responses(read_until_closed(sock))
    assert response.status == 200 and json.loads(response.body)["digit"] == 1


def test_keep_alive_requests_each_get_their_own_deadline(hostile_server) -> None:
    """A connection reused for longer than the deadline is fine as long as each request arrives in time."""
    conn = hostile_server.connect(timeout=HANG)
    try:
        for _ in range(3):
            response = hostile_server.request("POST", "/predict", PNG, {"Content-Type": "image/png"}, conn=conn)
            assert response.status == 200
            time.sleep(READ_TIMEOUT * 0.6)  # within gunicorn's 5 s keep-alive
    finally:
        conn.close()


def test_gunicorn_settings_protect_the_workers() -> None:
    conf = runpy.run_path(str(REPO_ROOT / "app" / "deploy" / "gunicorn_conf.py"))
    assert conf["worker_class"] == "app.deploy.gunicorn_worker.DeadlineThreadWorker"
    assert conf["max_requests"] > 0 and 0 < conf["max_requests_jitter"] < conf["max_requests"]
    assert conf["limit_request_line"] <= 4094 and conf["limit_request_fields"] <= 100
    assert conf["limit_request_field_size"] <= 8190 and conf["timeout"] > 0


def test_workers_are_recycled_without_losing_a_request(tmp_path) -> None:
    env = {**NO_RATE_LIMITS, "GUNICORN_MAX_REQUESTS": "15"}  # jitter: 1
    with LiveServer(tmp_path / "gunicorn.log", workers=2, env=env) as server:
        pids = set()
        for _ in range(60):
            response = server.request("POST", "/predict", PNG, {"Content-Type": "image/png"}, timeout=HANG)
            assert response.status == 200
            pids.add(json.loads(server.request("GET", "/healthz", timeout=HANG).body)["pid"])
        log = server.log_text()
    assert log.count("Autorestarting worker after current request") >= 2
    assert len(pids) > 2  # new workers answered
    assert "Traceback" not in log
