"""Every read of a request body either returns bytes or raises an error the app maps to a JSON 4xx.

Why: gunicorn decodes `Transfer-Encoding: chunked` bodies lazily, while the app reads them, and
its reader raises its own parse errors (InvalidChunkSize, ChunkMissingTerminator,
InvalidChunkExtension, InvalidHeader in a trailer, LimitRequestHeaders for a huge trailer
section). Those are neither OSError nor ValueError, so they passed through Werkzeug's stream
wrapper, through request.get_data()/get_json()/form parsing, and ended as a 500.

The fix sits where the body is read, not in each route: `guard_body` wraps `wsgi.input` once per
request, so every reader - get_data, get_json, the multipart and form parsers, request.stream,
whatever a new endpoint calls - sees a malformed chunked body as `MalformedBody` (a ValueError,
which Werkzeug's LimitedStream turns into ClientDisconnected with this error as its context;
app/middleware/errors.py answers 400 malformed_body). A body that ends early is left as the
server reports it (NoMoreData, an OSError: 400 incomplete_body; a read deadline: 408).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

try:  # the server's own parse errors; any other WSGI server simply never raises them
    from gunicorn.http.errors import ParseException as ServerParseError
except ImportError:  # pragma: no cover - gunicorn is pinned in requirements.txt
    class ServerParseError(Exception):  # type: ignore[no-redef]
        pass

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class MalformedBody(ValueError):
    """The request body's framing is broken (a chunk size, a chunk terminator, a trailer)."""


class GuardedInput:
    """`wsgi.input` whose reads raise MalformedBody instead of the server's parse errors.

    No readinto on purpose: Werkzeug then reads through `read`, the method guarded here.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, size: int | None = None) -> bytes:
        try:
            return self._stream.read(size) if size is not None else self._stream.read()
        except ServerParseError as exc:
            raise MalformedBody(describe(exc)) from None

    def readline(self, size: int | None = None) -> bytes:
        try:
            return self._stream.readline(size) if size is not None else self._stream.readline()
        except ServerParseError as exc:
            raise MalformedBody(describe(exc)) from None

    def readlines(self, hint: int | None = None) -> list[bytes]:
        try:
            return self._stream.readlines(hint) if hint is not None else self._stream.readlines()
        except ServerParseError as exc:
            raise MalformedBody(describe(exc)) from None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def describe(exc: Exception) -> str:
    """A short client-facing reason, e.g. 'invalid chunk size' (never the raw bytes at length)."""
    detail = str(exc)[:80]
    name = type(exc).__name__
    words = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
    return f"the chunked request body is malformed ({words}{': ' + detail if detail else ''})"


def guard_body(wsgi_app: WSGIApp) -> WSGIApp:
    """WSGI middleware: the app reads its body through GuardedInput (one small object per request)."""

    def guarded(environ: dict, start_response: Callable) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if stream is not None and "HTTP_TRANSFER_ENCODING" in environ:  # only a chunked body parses lazily
            environ["wsgi.input"] = GuardedInput(stream)
        return wsgi_app(environ, start_response)

    return guarded
