"""Schemathesis against the real server: requests generated from /openapi.json, valid and not.

Each operation gets a bounded number of generated requests (MAX_EXAMPLES, "positive" ones that
follow the schema and, where there is a body, "negative" ones that break it). Every answer must
not be a 5xx, must have a documented status and content type, and must match its schema.
"""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.routes.openapi import build_openapi
from tests.support.raw_http import HANG, assert_alive

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA = schemathesis.openapi.from_dict(build_openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
RUNS = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + \
       [(op, GenerationMode.NEGATIVE) for op in OPERATIONS if op.body]


def test_the_fuzzed_document_is_the_served_one(hostile_server) -> None:
    served = json.loads(hostile_server.request("GET", "/openapi.json").body)
    assert served == json.loads(json.dumps(build_openapi()))
    assert {(op.method.upper(), op.path) for op in OPERATIONS} >= {("POST", "/predict"), ("POST", "/feedback")}


@pytest.mark.parametrize("operation,mode", RUNS, ids=[f"{op.method.upper()} {op.path} {mode.value}" for op, mode in RUNS])
def test_generated_requests(hostile_server, operation, mode) -> None:
    statuses: list[int] = []

    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case) -> None:
        response = case.call(base_url=hostile_server.url, timeout=HANG)
        statuses.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    call()
    assert statuses, "nothing was generated"
    assert_alive(hostile_server)
