"""/healthz answers within 100 ms while 8 or 32 clients trickle PNG bodies (2 workers x 2 threads).

Before the worker buffered requests in its event loop, each trickling client held a thread
until its read deadline: with 8 of them all 4 threads were taken and a probe waited seconds.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from typing import Iterator

import pytest

from testkit.drawings import canvas_png
from tests.support.raw_http import HANG, assert_json_error, parse_responses, read_until_closed
from testkit.live_server import NO_RATE_LIMITS, LiveServer

PNG = canvas_png("one")
READ_TIMEOUT = 4.0  # the tricklers are cut off after this long (408)
PROBE_DEADLINE = 0.100
PROBES = 12


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[LiveServer]:
    log = tmp_path_factory.mktemp("trickle") / "gunicorn.log"
    env = {**NO_RATE_LIMITS, "GUNICORN_REQUEST_READ_TIMEOUT": str(READ_TIMEOUT), "GUNICORN_THREADS": "2"}
    with LiveServer(log, workers=2, env=env) as live:
        yield live
    assert "Traceback" not in live.log_text()


def trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    """One byte of the PNG body per client every 100 ms, round after round."""
    for byte in PNG:
        if stop.wait(0.1):
            return
        for sock in socks:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # cut off by the deadline: expected
                pass


def probe(server: LiveServer) -> float:
    start = time.perf_counter()
    response = server.request("GET", "/healthz", timeout=HANG)
    elapsed = time.perf_counter() - start
    assert response.status == 200 and json.loads(response.body)["status"] == "ok"
    return elapsed


@pytest.mark.parametrize("clients", [8, 32])
def test_healthz_answers_within_100_ms_while_clients_trickle_bodies(server: LiveServer, clients: int) -> None:
    head = (f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            f"Content-Length: {len(PNG)}\r\n\r\n").encode()
    socks = [socket.create_connection((server.host, server.port), timeout=READ_TIMEOUT + HANG) for _ in range(clients)]
    for sock in socks:
        sock.sendall(head + PNG[:8])
    stop = threading.Event()
    sender = threading.Thread(target=trickle, args=(socks, stop), daemon=True)
    sender.start()
    try:
        time.sleep(0.5)  # every trickling connection is accepted and sending
        times = []
        for _ in range(PROBES):  # about 2 s of probing, well inside the tricklers' 4 s
            times.append(probe(server))
            time.sleep(0.15)
        # Every probe but one within 100 ms, and that one within 0.5 s: on the shared 2-core machine
        # a process can wait tens of ms for a core (measured 2-13 ms with 8 clients, 2-88 ms with 32,
        # at load average 9.9); before the change the first probe waited 3.5 s for a thread.
        in_time = sorted(times)[:-1]
        assert max(in_time) < PROBE_DEADLINE and max(times) < 5 * PROBE_DEADLINE, [round(t * 1000, 1) for t in times]
        # the tricklers are still connected and then cut off with a JSON 408, none served a 5xx
        for sock in socks:
            [response] = parse_responses(read_until_closed(sock))
            assert assert_json_error(response, 408) == "request_timeout"
    finally:
        stop.set()
        sender.join(timeout=HANG)
        for sock in socks:
            sock.close()


def test_clients_that_stop_reading_their_answers_do_not_stall_the_probe(server: LiveServer) -> None:
    """Pipelined requests from clients with a tiny receive window that never read: their answers
    back up in the socket; /predict and /healthz for everyone else still answer at once."""
    stalled = []
    for _ in range(3):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(READ_TIMEOUT + HANG)
        sock.connect((server.host, server.port))
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 400)
        stalled.append(sock)
    try:
        time.sleep(0.5)
        times = [probe(server) for _ in range(6)]
        assert max(times) < PROBE_DEADLINE, [round(t * 1000, 1) for t in times]
        response = server.request("POST", "/predict", PNG, {"Content-Type": "image/png"}, timeout=HANG)
        assert response.status == 200 and json.loads(response.body)["digit"] == 1
    finally:
        for sock in stalled:
            sock.close()
