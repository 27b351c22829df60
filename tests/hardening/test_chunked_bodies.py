"""Broken `Transfer-Encoding: chunked` bodies get a JSON 4xx from every body reader, never a 500.

gunicorn decodes a chunked body while the app reads it; its parse errors used to pass through
request.get_data(), get_json() and the multipart parser as a 500 (app/middleware/body_guard.py).
Each case is sent over a raw socket to the real gunicorn of tests/hardening/conftest.py, then
half-closed, so a body that ends early ends at once instead of at the read deadline.
"""
from __future__ import annotations

import base64
import json

import pytest

from testkit.drawings import canvas_png
from tests.support.raw_http import assert_alive, assert_json_error, parse_responses, send_raw

PNG = canvas_png("one")
DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
FEEDBACK = {"image": DATA_URL, "label": 1, "predicted": 1, "confidence": 0.9, "model": "chunked-test"}
MULTIPART = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
             b"Content-Type: image/png\r\n\r\n" + PNG + b"\r\n--b--\r\n")

# Every reader of a body: raw bytes, JSON (four routes), multipart form parsing.
READERS = {
    "raw_png": ("/predict", "image/png", PNG),
    "json": ("/predict", "application/json", json.dumps({"image": DATA_URL}).encode()),
    "multipart": ("/predict", "multipart/form-data; boundary=b", MULTIPART),
    "batch_json": ("/predict/batch", "application/json", json.dumps({"images": [DATA_URL]}).encode()),
    "feedback_json": ("/feedback", "application/json", json.dumps(FEEDBACK).encode()),
    "number_raw_png": ("/predict/number", "image/png", PNG),
    "explain_raw_png": ("/explain", "image/png", PNG),  # /explain reads its options from the body first
    "explain_json": ("/explain", "application/json", json.dumps({"image": DATA_URL, "steps": 4}).encode()),
}


def chunked(payload: bytes, step: int = 700) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + step]), payload[i:i + step])
                    for i in range(0, len(payload), step))


# name -> the chunked body (after the headers), from the reader's payload
BROKEN = {
    "invalid_size": lambda p: b"zz\r\n" + p + b"\r\n0\r\n\r\n",
    "size_not_hex_after_good_chunks": lambda p: chunked(p[:1400]) + b"1x\r\n" + p[1400:] + b"\r\n0\r\n\r\n",
    "size_larger_than_body": lambda p: b"%x\r\n" % (len(p) + 5000) + p + b"\r\n0\r\n\r\n",
    "chunk_cut_short": lambda p: b"%x\r\n" % len(p) + p[: len(p) // 2],
    "chunk_without_terminator": lambda p: b"%x\r\n" % len(p) + p + b"XX0\r\n\r\n",
    "size_line_without_end": lambda p: b"1" + b"0" * 9000,
    "bad_extension": lambda p: b"%x;=\r\n" % len(p) + p + b"\r\n0\r\n\r\n",
    "malformed_trailer": lambda p: chunked(p) + b"0\r\nnot a header line\r\n\r\n",
    "trailer_cut_short": lambda p: chunked(p) + b"0\r\nX-Checksum: 1234\r\n",
    "huge_trailer_section": lambda p: chunked(p) + b"0\r\n" + b"X-T: v\r\n" * 40000 + b"\r\n",
}


def chunked_request(path: str, content_type: str, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode() + body


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("broken", BROKEN)
def test_a_broken_chunked_body_is_a_json_400(hostile_server, reader: str, broken: str) -> None:
    path, content_type, payload = READERS[reader]
    answer = send_raw(hostile_server, chunked_request(path, content_type, BROKEN[broken](payload)))
    responses = parse_responses(answer)
    assert responses, f"no answer to {broken} on {reader}"
    code = assert_json_error(responses[0], 400)
    assert code in ("malformed_body", "incomplete_body", "bad_request"), code
    assert_alive(hostile_server)  # also: no Traceback in the log


@pytest.mark.parametrize("reader", READERS)
def test_well_formed_chunked_bodies_with_trailers_are_served(hostile_server, reader: str) -> None:
    path, content_type, payload = READERS[reader]
    body = chunked(payload) + b"0\r\nX-Checksum: 1234\r\nX-Other: a\r\n\r\n"
    [response] = parse_responses(send_raw(hostile_server, chunked_request(path, content_type, body)))
    assert response.status in (200, 201), response.body[:300]
    result = json.loads(response.body)
    if reader == "number_raw_png":
        assert result["number"] == "1"
    elif reader != "feedback_json":
        assert (result["results"][0] if reader == "batch_json" else result)["digit"] == 1


def test_the_malformed_body_answer_names_the_problem(hostile_server) -> None:
    path, content_type, payload = READERS["raw_png"]
    [response, *_] = parse_responses(send_raw(hostile_server, chunked_request(path, content_type, b"zz\r\n" + payload)))
    error = json.loads(response.body)["error"]
    assert error["code"] == "malformed_body" and "chunk" in error["message"] and error["request_id"]
