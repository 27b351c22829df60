"""/predict answers exactly as before the hot path was sped up (tests/support/predict_golden.py)."""
from __future__ import annotations

import json

from tests.support.predict_golden import GOLDEN, answers, cases, golden_client

EXPECTED = json.loads(GOLDEN.read_text())


def test_every_answer_is_identical_to_before() -> None:
    got = answers(golden_client())
    assert sorted(got) == sorted(EXPECTED)
    assert {name: got[name] for name in EXPECTED if got[name] != EXPECTED[name]} == {}


def test_the_cases_cover_every_verdict() -> None:
    client = golden_client()
    seen = set()
    for _, data in cases():
        body = client.post("/predict", data=data, content_type="image/png").get_json()
        seen.add(body.get("verdict"))
        if "candidates" in body:
            seen.add("candidates")
    assert {"digit", "unsure", "not_a_digit", "candidates"} <= seen
