"""Has the whole HTTP/1.1 request arrived? An incremental answer from the bytes received so far.

Why: the worker (app/deploy/gunicorn_worker.py) reads each request in its event loop, without a
thread, and hands it to a thread only once it is complete, so a slow client holds a few bytes of
memory instead of one of the few threads. This is not a parser: it only finds where the request
ends. Whenever the framing is anything but plainly well-formed (a bare LF, a bad or repeated
Content-Length, a transfer coding other than chunked, a bad chunk line), it says "ready" at once,
and gunicorn's own parser, which then reads the same bytes, refuses the request as it always did.
Saying "ready" too early is harmless (the thread reads the rest under the read deadline); saying
"not ready" for a complete request would leave it waiting for the deadline, so every doubt is "ready".
"""
from __future__ import annotations

MAX_LINE = 8190  # gunicorn's limit_request_field_size default, also its bound on a chunk-size line
HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


class RequestFraming:
    """Feed it the growing buffer of one request; `ready(buf)` is True once it is all there.

    Each call resumes where the previous one stopped, so a body trickled a byte at a time costs
    O(n) over the request, not O(n^2).
    """

    __slots__ = ("header_end", "searched", "body_end", "chunk_at", "whole")

    def __init__(self) -> None:
        self.header_end: int | None = None  # index just past the blank line ending the headers
        self.searched = 0  # where the search for that blank line resumes
        self.body_end: int | None = None  # Content-Length framing: index just past the body
        self.chunk_at: int | None = None  # chunked framing: start of the next chunk-size line
        self.whole = False  # ready because every byte of a well-formed request is here (not from doubt)

    def ready(self, buf: bytes | bytearray) -> bool:
        if self.header_end is None:
            end = buf.find(b"\r\n\r\n", self.searched)
            if end < 0:
                start, self.searched = self.searched, max(0, len(buf) - 3)
                return bare_lf(buf, start)  # gunicorn refuses bare LF line ends: let it say so now
            self.header_end = end + 4
            framing = self.body_framing(bytes(buf[:end]))
            if framing is True:
                return True
        if self.body_end is not None:
            self.whole = len(buf) >= self.body_end
            return self.whole
        return self.chunks_ready(buf)

    def body_framing(self, head: bytes) -> bool | None:
        """Set the body's framing from the headers; True: hand over now (no body, or doubtful)."""
        if bare_lf(head):
            return True
        lengths, codings, expect = [], [], False
        for line in head.split(b"\r\n")[1:]:
            name, sep, value = line.partition(b":")
            if not sep:
                return True  # malformed header line
            name = name.strip().lower()
            if name == b"content-length":
                lengths.append(value.strip())
            elif name == b"transfer-encoding":
                codings.append(value.strip().lower())
            elif name == b"expect":
                expect = True  # the client waits for "100 Continue" before sending the body
        if expect or (lengths and codings) or len(lengths) > 1:
            return True
        if codings:
            if codings != [b"chunked"]:
                return True
            self.chunk_at = self.header_end
            return None
        if not lengths:
            self.whole = True
            return True  # a request without a body
        if not lengths[0].isdigit() or len(lengths[0]) > 18:
            return True
        self.body_end = self.header_end + int(lengths[0])
        return None

    def chunks_ready(self, buf: bytes | bytearray) -> bool:
        """Walk the chunks received so far; True at the end of the trailers or at a doubtful line."""
        at = self.chunk_at
        while True:
            line_end = buf.find(b"\r\n", at)
            if line_end < 0:
                self.chunk_at = at
                return len(buf) - at > MAX_LINE
            size_field = bytes(buf[at:line_end]).split(b";", 1)[0].rstrip(b" \t")
            if not size_field or len(size_field) > 16 or not HEX_DIGITS.issuperset(size_field):
                return True
            size = int(size_field, 16)
            if size == 0:  # the last chunk; then trailer lines and a blank line
                self.chunk_at = at
                self.whole = buf[line_end + 2:line_end + 4] == b"\r\n" or buf.find(b"\r\n\r\n", line_end) >= 0
                return self.whole or len(buf) - line_end > 64 * MAX_LINE
            data_end = line_end + 2 + size
            if len(buf) < data_end + 2:
                self.chunk_at = at
                return False
            if buf[data_end:data_end + 2] != b"\r\n":
                return True
            at = data_end + 2


def bare_lf(data: bytes | bytearray, start: int = 0) -> bool:
    """A LF at or after `start` that does not end a CRLF."""
    if start <= 0:
        return data.count(b"\n") != data.count(b"\r\n")
    return data.count(b"\n", start) != data.count(b"\r\n", start - 1)
