"""Test-only helpers (fixtures live in tests/conftest.py; what bench/ shares with the tests is in testkit/)."""
