"""Which code trained a model: the git commit recorded in its card (training only).

Same configuration, same code, same BLAS thread count: the same parameters bit for bit. A
change of code that keeps the maths but not the rounding (e.g. summing bias gradients as a
product with ones) changes every figure from the first epoch on, so the card names the commit.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10, check=True)
    return done.stdout.strip()


def code_revision() -> dict[str, Any] | None:
    """{"commit", "model_uncommitted_changes"} of the checkout holding model/, or None (no git, not a checkout)."""
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--", "model") != ""
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "model_uncommitted_changes": dirty}
