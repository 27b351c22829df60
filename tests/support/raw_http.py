"""Raw-socket helpers for the hostile-input tests (their server: the hostile_server fixture)."""
from __future__ import annotations

import json
import socket

from testkit.live_server import HttpResponse, LiveServer

READ_TIMEOUT = 2  # GUNICORN_REQUEST_READ_TIMEOUT of the test servers: stalled clients are cut quickly
HANG = 20.0  # seconds without an answer that count as a hang


def send_raw(server: LiveServer, data: bytes, *, close_write: bool = True, timeout: float = HANG) -> bytes:
    """Send bytes as they are, (optionally) half-close, and read until the server closes."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        return read_until_closed(sock)


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def parse_responses(raw: bytes) -> list[HttpResponse]:
    """The HTTP/1.1 responses in a byte stream (each with a Content-Length, as ours all have)."""
    responses = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        assert sep, f"incomplete response: {raw[:300]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers["content-length"])
        responses.append(HttpResponse(status, headers, rest[:length]))
        raw = rest[length:]
    return responses


def assert_json_error(response: HttpResponse, *statuses: int) -> str:
    """A 4xx (one of statuses, if given) with {"error": {"code", "message"}}; returns the code."""
    assert 400 <= response.status < 500, (response.status, response.body[:300])
    if statuses:
        assert response.status in statuses, (response.status, response.body[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = json.loads(response.body)["error"]
    assert isinstance(error["code"], str) and error["code"] and error["message"], error
    return error["code"]


def assert_alive(server: LiveServer) -> None:
    """/healthz answers, and nothing so far has left a traceback in the gunicorn log."""
    response = server.request("GET", "/healthz", timeout=HANG)
    assert response.status == 200 and json.loads(response.body)["status"] == "ok"
    assert "Traceback" not in server.log_text(), server.log_tail()
