"""OneWriteResponse puts the same bytes on the wire as gunicorn's Response, in one write when it can.

Real gunicorn objects: a request parsed by gunicorn's RequestParser, a Response answering over a
real socket pair; the socket is wrapped only to count its sendall() calls.
"""
from __future__ import annotations

import socket

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from app.deploy.one_write_response import OneWriteResponse


class Counting:
    """A real socket that counts its writes."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.writes = sock, 0

    def sendall(self, data: bytes) -> None:
        self.writes += 1
        self.sock.sendall(data)


def answer(response_class, method: str, status: str, headers: list[tuple[str, str]], body: list[bytes]):
    """(bytes the client received, number of writes) for one response of ``response_class``."""
    cfg = Config()
    request = next(iter(RequestParser(cfg, [f"{method} /x HTTP/1.1\r\nHost: a\r\n\r\n".encode()], ("127.0.0.1", 1))))
    server, client = socket.socketpair()
    counting = Counting(server)
    response = response_class(request, counting, cfg)
    response.start_response(status, headers)
    for item in body:
        response.write(item)
    response.close()
    server.close()
    received = b"".join(iter(lambda: client.recv(65536), b""))
    client.close()
    return received, counting.writes


def without_date(data: bytes) -> bytes:
    return b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"Date: "))


CASES = {
    "json body": ("POST", "200 OK", [("Content-Type", "application/json"), ("Content-Length", "11")], [b'{"digit":7}'], 1),
    "two parts": ("GET", "200 OK", [("Content-Length", "6")], [b"abc", b"def"], 2),
    "no body": ("GET", "204 No Content", [], [], 1),
    "HEAD": ("HEAD", "200 OK", [("Content-Length", "11")], [b'{"digit":7}'], 1),
    "chunked": ("GET", "200 OK", [], [b"abc", b"def"], 4),
}


@pytest.mark.parametrize("name", CASES)
def test_same_bytes_as_gunicorn_in_fewer_writes(name: str) -> None:
    method, status, headers, body, writes = CASES[name]
    ours, our_writes = answer(OneWriteResponse, method, status, headers, body)
    theirs, their_writes = answer(wsgi.Response, method, status, headers, body)
    assert without_date(ours) == without_date(theirs)
    assert our_writes == writes
    if name in ("json body", "two parts"):
        assert our_writes == their_writes - 1  # the header block rode with the first body bytes
