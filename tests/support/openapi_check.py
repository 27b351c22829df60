"""Validate real responses against the service's own OpenAPI document (JSON Schema 2020-12)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from app.routes.openapi import build_openapi


@lru_cache(maxsize=None)
def validator_for(path: str, method: str, status: int) -> Draft202012Validator:
    doc = build_openapi()
    responses = doc["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} -> {status} is not documented"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


def assert_matches_openapi(path: str, method: str, status: int, body: Any) -> None:
    errors = sorted(validator_for(path, method, status).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status} does not match the OpenAPI schema: {[e.message for e in errors]}"
