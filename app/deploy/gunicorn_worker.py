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

No thread waits for a slow client: the event loop reads each request (headers and body, up to
BUFFER_LIMIT bytes) without blocking, and hands it to a thread only once it has all arrived
(app/deploy/request_framing.py says when) or its deadline has passed (the thread then finds the
deadline gone and answers 408 / closes at once, as above). So the threads only compute, and a
/healthz probe is answered at once however many clients trickle their bodies, up to
worker_connections open connections per worker (gunicorn_conf.py); beyond that, new connections
wait in the listen backlog until the deadline frees slots (docs/operator.md). A body larger than
BUFFER_LIMIT is handed over at that size and its thread reads the rest under the same deadline.

Requests gunicorn refuses before the app sees them (a malformed request line or header, a
request line or header over the limits in gunicorn_conf.py) are answered in the API's JSON
error shape too, instead of gunicorn's HTML page.
"""
from __future__ import annotations

import errno
import json
import logging
import selectors
import socket
import time
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

from app.deploy import one_write_response
from app.deploy.request_framing import RequestFraming
from app.settings import Settings

BUFFER_LIMIT = 1 << 20  # bytes of one request read by the event loop (a drawing's PNG is ~10 KB)
RECV_SIZE = 1 << 16


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

    @property
    def raw(self) -> socket.socket:
        return self._sock

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
        if self._sock.gettimeout() != self.seconds:  # settimeout is a system call; skip it when already so
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
        self.received: bytearray | None = None  # the request read so far by the event loop
        self.framing: RequestFraming | None = None
        self.ready = False  # the request is buffered (or out of time): a thread may take it

    def init(self) -> None:
        # Runs before every request on the connection. The first request's deadline counts
        # from accept(); a later request on a kept-alive connection gets its own, started when
        # the event loop begins reading it (DeadlineThreadWorker.start_buffering), not here.
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


# Requests answered in the event loop (DeadlineThreadWorker.serve_inline): the hot routes, whose
# answers are a few KB, so writing one to a socket with nothing queued cannot block.
INLINE_REQUEST_LINES = (b"POST /predict ", b"POST /predict?", b"GET /healthz ", b"GET /healthz?")
INLINE_MAX_BYTES = 64 * 1024  # bigger uploads (a photo) are decoded in a thread, not in the loop
try:
    import fcntl
    import struct
    import termios

    def unsent_bytes(sock: socket.socket) -> int:
        """Bytes written to the socket that the peer has not yet taken (Linux SIOCOUTQ)."""
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
except (ImportError, AttributeError):  # pragma: no cover - not Linux: everything goes to the threads
    def unsent_bytes(sock: socket.socket) -> int:
        return 1


def served_inline(conn: DeadlineConn) -> bool:
    """Small, whole, for a hot route, and the client has taken every answer so far (a client that
    stops reading must not be able to make the event loop wait on a full socket)."""
    buf = conn.received
    if len(buf) > INLINE_MAX_BYTES or not buf.startswith(INLINE_REQUEST_LINES):
        return False
    try:
        return unsent_bytes(conn.sock.raw) == 0
    except OSError:
        return False


class Answered:
    """What finish_request expects of a thread pool future, for a request answered inline."""

    def __init__(self, result) -> None:
        self._result = result

    def cancelled(self) -> bool:
        return False

    def result(self):
        return self._result


class DeadlineThreadWorker(ThreadWorker):
    """gthread with DeadlineConn; `worker_class = "app.deploy.gunicorn_worker.DeadlineThreadWorker"`."""

    def init_process(self) -> None:
        self.read_timeout = read_timeout_from_env()  # once per worker, not per connection
        self.log.error_log.addFilter(QuietTimeouts())
        util.write_error = write_json_error  # in this worker process: the one place gunicorn writes them
        one_write_response.install()  # headers and body in one write (app/deploy/one_write_response.py)
        self.init_process_buffering()
        super().init_process()

    def init_process_buffering(self) -> None:
        # Connections whose request is being read, oldest deadline first (a dict keeps
        # insertion order, and every deadline is "insertion time + read_timeout").
        self.buffering: dict[DeadlineConn, None] = {}

    def accept(self, listener) -> None:
        # ThreadWorker.accept of gunicorn 27.0.1, with DeadlineConn in place of TConn.
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            conn = DeadlineConn(self.cfg, client_sock, client_addr, listener.getsockname(), self.read_timeout)
            self.enqueue_req(conn)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def enqueue_req(self, conn: DeadlineConn) -> None:
        """To a thread only once the request is buffered; until then the event loop reads it."""
        if conn.ready:
            conn.ready = False
            super().enqueue_req(conn)
        else:
            self.start_buffering(conn)

    def start_buffering(self, conn: DeadlineConn) -> None:
        # Bytes a previous request read ahead (pipelining, a body drain) start this one.
        ahead = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        if conn.initialized:  # a kept-alive connection: this request's deadline starts now
            conn.sock.start_request()
        conn.received, conn.framing = bytearray(ahead), RequestFraming()
        if ahead and conn.framing.ready(conn.received):
            self.hand_over(conn)
            return
        conn.sock.setblocking(False)
        self.buffering[conn] = None
        self.poller.register(conn.sock.raw, selectors.EVENT_READ, partial(self.on_request_bytes, conn))

    def on_request_bytes(self, conn: DeadlineConn, _sock) -> None:
        try:
            data = conn.sock.raw.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # reset by the client
            self.drop(conn)
            return
        if not data:  # the client closed: the parser answers what it can of the bytes held
            if conn.received:
                self.stop_buffering(conn)
                self.hand_over(conn)
            else:
                self.drop(conn)
            return
        conn.received += data
        if len(conn.received) >= BUFFER_LIMIT or conn.framing.ready(conn.received):
            self.stop_buffering(conn)
            if conn.framing.whole and served_inline(conn):
                self.serve_inline(conn)
            else:
                self.hand_over(conn)

    def serve_inline(self, conn: DeadlineConn) -> None:
        """Answer a whole, small /predict or /healthz request here in the event loop, as a sync
        worker would: no hand-off to a thread and back (two wake-ups, a GIL switch, a future and
        a pipe write each way; about 0.3 ms of CPU per request measured, docs/benchmarks.md)."""
        conn.framing = None
        keep = self.handle(conn)
        self.finish_request(conn, Answered(keep))

    def stop_buffering(self, conn: DeadlineConn) -> None:
        self.poller.unregister(conn.sock.raw)
        del self.buffering[conn]

    def hand_over(self, conn: DeadlineConn) -> None:
        """Give the buffered bytes to a thread; its parser reads them before the socket."""
        conn.ready = True
        conn.framing = None
        self.enqueue_req(conn)

    def drop(self, conn: DeadlineConn) -> None:
        self.stop_buffering(conn)
        conn.received = None
        self.nr_conns -= 1
        conn.close()

    def handle(self, conn: DeadlineConn):
        """gthread's handle, after putting the bytes the event loop read in front of the socket."""
        received, conn.received = conn.received, None
        conn.sock.setblocking(True)
        conn.init()
        if received:
            conn.parser.unreader.unread(bytes(received))
        conn.data_ready = True  # never wait for data in a thread
        return super().handle(conn)

    def murder_pending(self) -> None:
        """Also: hand over (or close, if nothing arrived) requests whose deadline has passed."""
        super().murder_pending()
        now = time.monotonic()
        while self.buffering:
            conn = next(iter(self.buffering))
            if conn.sock.deadline > now:
                break
            if conn.received:
                self.stop_buffering(conn)
                self.hand_over(conn)
            else:
                self.drop(conn)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Wake up for the earliest read deadline too, not only once a second."""
        if self.buffering:
            first = next(iter(self.buffering)).sock.deadline - time.monotonic()
            timeout = max(0.0, min(timeout, first + 0.01))
        super().wait_for_and_dispatch_events(timeout)
        if self.buffering and next(iter(self.buffering)).sock.deadline <= time.monotonic():
            self.murder_pending()
