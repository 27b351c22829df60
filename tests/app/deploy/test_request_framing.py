"""Where a request ends (app/deploy/request_framing.py): never "not yet" for a request that is all there.

Fed byte by byte as a trickling client sends it, and whole; pipelined requests through the real
worker are in test_pipelined_requests_are_each_answered.
"""
from __future__ import annotations

import pytest

from app.deploy.request_framing import RequestFraming
from tests.support.raw_http import parse_responses, send_raw

HEAD = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
BODY = b"\x89PNG" + bytes(range(256)) * 3

COMPLETE = {
    "get": b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    "content_length": HEAD + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY,
    "content_length_zero": HEAD + b"Content-Length: 0\r\n\r\n",
    "chunked": HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(BODY) + BODY + b"\r\n5\r\nabcde\r\n0\r\n\r\n",
    "chunked_extension_and_trailers": HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n",
}
# Doubtful framing: ready as soon as it shows, so gunicorn's parser refuses it without a wait.
DOUBTFUL = {
    "bare_lf": b"GET / HTTP/1.1\nHost: x\n\n",
    "bad_length": HEAD + b"Content-Length: 12a\r\n\r\n",
    "two_lengths": HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
    "length_and_chunked": HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "gzip_coding": HEAD + b"Transfer-Encoding: gzip\r\n\r\n",
    "expect_continue": HEAD + b"Content-Length: 100\r\nExpect: 100-continue\r\n\r\n",
    "bad_chunk_size": HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
    "chunk_without_terminator": HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
    "header_without_colon": HEAD + b"Oops\r\n\r\n",
}


def fed_bytewise(data: bytes) -> list[bool]:
    framing, buf, answers = RequestFraming(), bytearray(), []
    for byte in data:
        buf.append(byte)
        answers.append(framing.ready(buf))
    return answers


@pytest.mark.parametrize("name", COMPLETE)
def test_a_complete_request_is_ready_exactly_at_its_last_byte(name: str) -> None:
    answers = fed_bytewise(COMPLETE[name])
    assert answers[-1] and not any(answers[:-1]), answers.index(True)
    assert RequestFraming().ready(COMPLETE[name])


@pytest.mark.parametrize("name", DOUBTFUL)
def test_doubtful_framing_is_handed_over_at_once(name: str) -> None:
    assert fed_bytewise(DOUBTFUL[name])[-1]


def test_a_body_still_arriving_is_not_ready() -> None:
    partial = COMPLETE["content_length"][:-1]
    assert not RequestFraming().ready(partial)
    assert not RequestFraming().ready(COMPLETE["chunked"][:-2])


def test_pipelined_requests_are_each_answered(hostile_server) -> None:
    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    responses = parse_responses(send_raw(hostile_server, get + get + get[:-2] + b"Connection: close\r\n\r\n"))
    assert [r.status for r in responses] == [200, 200, 200]
