"""The NumPy stages give byte-identical results to the Pillow-based ones they replaced.

tests/support/preprocess_golden.json holds the digests of every stage's output on the test
drawings (tests/support/preprocess_golden.py), written before the rewrite: ink image, digit crop,
20 px digit, model vector and preview PNG, for 81 files in every mode and encoding the service takes.
"""
from __future__ import annotations

import json

import pytest

from tests.support.preprocess_golden import GOLDEN, cases, stages

EXPECTED = json.loads(GOLDEN.read_text())
CASES = dict(cases())


def test_the_golden_file_covers_every_case() -> None:
    assert sorted(EXPECTED) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_stage_is_identical_to_before(name: str) -> None:
    assert stages(CASES[name]) == EXPECTED[name]
