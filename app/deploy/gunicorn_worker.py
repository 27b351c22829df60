"""gunicorn's gthread worker with one deadline per request for reading it from the client.

Why: gunicorn 27's gthread worker waits up to 5 s for a connection's first bytes without
holding a thread, but once they arrive a thread reads the rest of the headers and the body
from a blocking socket with no timeout. A client that sends half a request line, or the
headers and then a trickle of body, holds that thread for as long as it likes; a few such
connections (workers x threads) stall the whole server. The worker `timeout` does not help:
the gthread main loop keeps the heartbeat going while its threads are stuck.

Here every read of one request shares a deadline (GUNICORN_REQUEST_READ_TIMEOUT seconds,
default 10, counted from accept() for a connection's first request): a client that has not sent
its whole request by then is cut off (408 if the body was being read, a closed connection
if the headers were). A trickle of one byte per second cannot stretch it, because the
deadline is for the whole request, not for each read. Writes get the same number of
seconds each, so a client that stops reading its answer is cut off too.

Requests gunicorn refuses before the app sees them (a malformed request line or header, a
request line or header over the limits in gunicorn_conf.py) are answered in the API's JSON
error shape too, instead of gunicorn's HTML page.
"""
from __future__ import annotations

import errno
import json
import logging
import socket
import time

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from app.settings import Settings


def read_timeout_from_env() -> float:
    """GUNICORN_REQUEST_READ_TIMEOUT in seconds (app.settings.Settings.request_read_timeout)."""
    return Settings.from_env().request_read_timeout


class RequestTimedOut(TimeoutError):
    """The client did not send its whole request before the deadline."""


class DeadlineSocket:
    """A client socket whose reads for one request share one deadline; everything else passes through."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock = sock
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def start_request(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def recv(self, size: int, *flags: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:  # too late to wait, but what has arrived is read (a request queued behind others)
            self._sock.settimeout(0.0)
            try:
                return self._sock.recv(size, *flags)
            except BlockingIOError:
                raise RequestTimedOut(errno.ETIMEDOUT, f"request not received within {self.seconds:g} s") from None
        current = self._sock.gettimeout()
        if current:  # a shorter bound set by gunicorn itself (draining a body, closing) still holds
            remaining = min(remaining, current)
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        except socket.timeout:
            raise RequestTimedOut(errno.ETIMEDOUT, f"request not received within {self.seconds:g} s") from None

    def sendall(self, data: bytes, *flags: int) -> None:
        self._sock.settimeout(self.seconds)
        self._sock.sendall(data, *flags)

    def sendfile(self, file, offset: int = 0, count: int | None = None) -> int:
        self._sock.settimeout(self.seconds)
        return self._sock.sendfile(file, offset, count)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class DeadlineConn(TConn):
    """A gthread connection whose socket enforces a per-request read deadline."""

    def __init__(self, cfg, sock, client, server, read_timeout: float) -> None:
        super().__init__(cfg, DeadlineSocket(sock, read_timeout), client, server)

    def init(self) -> None:
        # Runs before every request on the connection. The first request's deadline counts
        # from accept(), so connections queued behind stalled ones do not each get a fresh
        # period; a later request on a kept-alive connection gets its own.
        if self.initialized:
            self.sock.start_request()
        super().init()


class QuietTimeouts(logging.Filter):
    """One line, not a traceback, for a client cut off by the deadline while sending headers."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], RequestTimedOut):
            record.msg, record.args = "closed a connection: %s", (record.exc_info[1].strerror,)
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# Codes for the statuses gunicorn answers by itself (gunicorn.workers.base.Worker.handle_error).
PROTOCOL_ERROR_CODES = {400: "bad_request", 403: "forbidden", 414: "request_line_too_long",
                        417: "expectation_failed", 431: "headers_too_large", 500: "internal_error",
                        501: "not_implemented"}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn.util.write_error, answering {"error": {"code", "message"}} instead of an HTML page."""
    code = PROTOCOL_ERROR_CODES.get(status_int, "bad_request")
    body = json.dumps({"error": {"code": code, "message": mesg or reason}}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1")
    util.write_nonblock(sock, head + body)


class DeadlineThreadWorker(ThreadWorker):
    """gthread with DeadlineConn; `worker_class = "app.deploy.gunicorn_worker.DeadlineThreadWorker"`."""

    def init_process(self) -> None:
        self.read_timeout = read_timeout_from_env()  # once per worker, not per connection
        self.log.error_log.addFilter(QuietTimeouts())
        util.write_error = write_json_error  # in this worker process: the one place gunicorn writes them
        super().init_process()

    def accept(self, listener) -> None:
        # ThreadWorker.accept of gunicorn 27.0.1, with DeadlineConn in place of TConn.
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            client_sock.setblocking(True)
            conn = DeadlineConn(self.cfg, client_sock, client_addr, listener.getsockname(), self.read_timeout)
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
