"""Benchmarks (not tests): run from the repository root as `python -m bench.NAME` (docs/benchmarks.md).

They import the package (app, model) and testkit/ for what they share with the tests, never tests/."""
