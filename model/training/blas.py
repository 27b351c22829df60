"""The BLAS thread count of a command-line run.

OpenBLAS reads its thread count once, when NumPy is first imported, so a CLI must
set the environment before that import. This module therefore imports nothing
heavy; the CLIs call ``apply_threads_flag(sys.argv)`` above ``import numpy``.
"""
from __future__ import annotations

import os
import sys
from typing import Mapping, Sequence

THREAD_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# OpenBLAS's idle threads spin for 2**28 cycles (~0.1 s) after each product before they sleep;
# during training that spinning sits on the core the single-threaded NumPy steps between
# products need, and the epoch is ~1.7x slower. 2**10 cycles: they sleep almost at once.
SPIN_ENV_VAR, SPIN_EXPONENT = "OPENBLAS_THREAD_TIMEOUT", "10"


def default_threads() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def threads_from_argv(argv: Sequence[str]) -> int | None:
    """The value of ``--threads N`` / ``--threads=N`` in argv, or None (argparse validates later)."""
    for i, arg in enumerate(argv):
        value = None
        if arg == "--threads" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--threads="):
            value = arg.split("=", 1)[1]
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _augmenting(argv: Sequence[str], by_default: bool) -> bool:
    """Whether a training command line augments: --augment on/off, else off with --quick, else the default."""
    args = list(argv)
    for value in ("on", "off"):
        if f"--augment={value}" in args or any(a == "--augment" and b == value for a, b in zip(args, args[1:])):
            return value == "on"
    return by_default and "--quick" not in args


def threads_for(argv: Sequence[str], environ: Mapping[str, str], augments_by_default: bool = False) -> int | None:
    """The thread count a command line asks for; None: leave the environment's setting alone."""
    n = threads_from_argv(argv)
    if n is None and any(var in environ for var in THREAD_ENV_VARS):
        return None
    if n is None or n < 1:
        n = max(1, default_threads() - 1) if _augmenting(argv, augments_by_default) else default_threads()
    return n


def apply_threads_flag(argv: Sequence[str], augments_by_default: bool = False) -> None:
    """Set the BLAS thread count from ``--threads`` (default: every core, unless the env says otherwise),
    and keep OpenBLAS's idle threads from spinning (unless the env sets OPENBLAS_THREAD_TIMEOUT).

    When augmenting (model.training.train's default) it leaves one core to the augmentation thread: OpenBLAS
    threads that must share their cores with it wait for each other at every product, and
    an epoch gets several times slower instead of faster.
    """
    os.environ.setdefault(SPIN_ENV_VAR, SPIN_EXPONENT)
    n = threads_for(argv, os.environ, augments_by_default)
    if n is None:
        return
    if "numpy" in sys.modules:
        print("warning: NumPy was imported before --threads was applied; "
              "the BLAS thread count may not change", file=sys.stderr)
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)


def current_threads() -> int:
    """The thread count BLAS was (or will be) started with, as far as the environment says."""
    for var in THREAD_ENV_VARS:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return default_threads()
