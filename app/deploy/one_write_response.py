"""gunicorn's HTTP/1 response, writing the status line and headers together with the body.

Why: gunicorn 27's Response.write sends the headers in one sendall() and the body in
another, so every small answer (a /predict's few KB of JSON) costs two system calls and two
TCP segments; on loopback each segment also wakes the client and is acknowledged. Here the
headers are held until the first body bytes and go out in the same sendall(); a response
with no body (HEAD, 204, 304) or a chunked or sendfile() one sends them as before, just later
(at the first chunk, at close()). The bytes on the wire are the same.
Installed per worker process by DeadlineThreadWorker.init_process (app/deploy/gunicorn_worker.py).
"""
from __future__ import annotations

from gunicorn import util
from gunicorn.http import wsgi


class _Held:
    """Stands in for the socket while gunicorn's send_headers writes the header block."""

    def __init__(self) -> None:
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data


class OneWriteResponse(wsgi.Response):
    """wsgi.Response whose header block is sent in the same write as the first body bytes."""

    held = b""
    holding = True  # False while sendfile() runs: its headers go out before the file

    def send_headers(self) -> None:
        if self.headers_sent:
            return
        if not self.holding:
            super().send_headers()
            return
        sock, self.sock = self.sock, _Held()
        try:
            super().send_headers()
        finally:
            self.held, self.sock = self.sock.data, sock

    def flush_headers(self) -> None:
        """Send held headers now (before a chunk, a file, or the end of a body-less answer)."""
        if self.held:
            held, self.held = self.held, b""
            util.write(self.sock, held)

    def _emit_body(self, data: bytes) -> None:
        if self.held and not self.chunked:
            data, self.held = self.held + data, b""
        else:
            self.flush_headers()
        super()._emit_body(data)

    def sendfile(self, respiter) -> bool:
        self.flush_headers()
        self.holding = False
        try:
            return super().sendfile(respiter)
        finally:
            self.holding = True

    def close(self) -> None:
        if not self.headers_sent:
            self.send_headers()
        self.flush_headers()
        super().close()


def install() -> None:
    """Make gunicorn.http.wsgi.create build OneWriteResponse in this (worker) process."""
    wsgi.Response = OneWriteResponse
