"""Hostile input against POST /explain: the /predict corpus (tests/hardening/test_hostile_input.py)
sent to /explain on the same real gunicorn server, with the same expected answers, plus hostile
values of its own options. Never a 5xx, a hang or a traceback in the log."""
from __future__ import annotations

import json

import pytest

from tests.support.raw_http import HANG, assert_alive, assert_json_error
from tests.hardening.test_hostile_input import (
    JSON_CASES,
    MULTIPART_CASES,
    PNG,
    RAW_CASES,
    check_answer,
    multipart_body,
)


def check(server, response, status, expected) -> None:
    check_answer(server, "/explain", response, status, expected)
    if status == 200 and expected is not None:
        body = json.loads(response.body)
        assert body["digit"] == body["target"] == expected


@pytest.mark.parametrize("name,body,media_type,status,expected", RAW_CASES, ids=[c[0] for c in RAW_CASES])
def test_raw_body(hostile_server, name, body, media_type, status, expected) -> None:
    headers = {"Content-Type": media_type} if media_type else {}
    check(hostile_server, hostile_server.request("POST", "/explain", body, headers, timeout=HANG), status, expected)


@pytest.mark.parametrize("name,payload,status,expected", JSON_CASES, ids=[c[0] for c in JSON_CASES])
def test_json_body(hostile_server, name, payload, status, expected) -> None:
    body = json.dumps(payload).encode()
    response = hostile_server.request("POST", "/explain", body, {"Content-Type": "application/json"}, timeout=HANG)
    check(hostile_server, response, status, expected)


@pytest.mark.parametrize("name,parts,status,expected", MULTIPART_CASES, ids=[c[0] for c in MULTIPART_CASES])
def test_multipart(hostile_server, name, parts, status, expected) -> None:
    body, content_type = multipart_body(parts)
    response = hostile_server.request("POST", "/explain", body, {"Content-Type": content_type}, timeout=HANG)
    check(hostile_server, response, status, expected)


@pytest.mark.parametrize("query", ["target=-1", "target=1e1", "target=%00", "target=" + "9" * 1500, "steps=65",
                                   "steps=-0", "steps=0x10", "target=7&target=8", "target=%EF%BC%97"])
def test_hostile_options(hostile_server, query: str) -> None:
    response = hostile_server.request("POST", f"/explain?{query}", PNG, {"Content-Type": "image/png"}, timeout=HANG)
    if response.status == 200:  # repeated keys: the first one counts
        assert query == "target=7&target=8" and json.loads(response.body)["target"] == 7
    else:
        assert assert_json_error(response, 400) in ("invalid_target", "invalid_steps")
    assert_alive(hostile_server)


def test_nested_options_in_json(hostile_server) -> None:
    for target in ({"a": 1}, [[[[7]]]], "7" * 100, 7.0, 1e308):
        body = json.dumps({"image": "x", "target": target}).encode()
        response = hostile_server.request("POST", "/explain", body, {"Content-Type": "application/json"}, timeout=HANG)
        assert assert_json_error(response, 400) == "invalid_target"
