"""Run the project's own modules in a child process, as an operator would (`python -m ...`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_module(module: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
    """`python -m module args...` from the repo root, output captured as text."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, **kwargs)


def start_module(module: str, *args: str) -> subprocess.Popen:
    """The same, started and left running (the caller waits for it or ends it)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
