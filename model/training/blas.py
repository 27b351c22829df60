"""The BLAS thread count of a training run: set once, after the flags are parsed.

Two routes, each where it works:
- the thread count goes through threadpoolctl (``set_threads``), which calls OpenBLAS's
  own ``openblas_set_num_threads`` in the running process. It works after NumPy is loaded,
  so it works for a console script (whose wrapper imports the package first), for
  ``python -m``, and for in-process callers such as the admin retrain inside the app;
  the environment variables are set to the same number too, for child processes.
- OpenBLAS's idle-thread spin time (OPENBLAS_THREAD_TIMEOUT) is read only once, when
  OpenBLAS loads, and has no call to change it later: ``prepare_environment`` sets it,
  and only takes effect when it runs before NumPy is imported (``model.cli`` does so as
  its package is imported; an already running process keeps OpenBLAS's default).

This module imports nothing heavy at import time (threadpoolctl only inside ``set_threads``).
"""
from __future__ import annotations

import os
import sys
from typing import Mapping

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


def prepare_environment() -> None:
    """Keep OpenBLAS's idle threads from spinning (unless the environment says otherwise).

    Effective only before NumPy is first imported (OpenBLAS reads it once, as it loads).
    """
    os.environ.setdefault(SPIN_ENV_VAR, SPIN_EXPONENT)


def threads_for(requested: int | None, augmenting: bool, environ: Mapping[str, str]) -> int | None:
    """The thread count to use; None: leave the environment's own setting alone.

    No --threads (or one below 1): every core, one less when augmenting, since the
    augmentation thread needs a core of its own: OpenBLAS threads that share their
    cores with it wait for each other at every product, and an epoch gets several times
    slower instead of faster. An OPENBLAS/OMP/MKL_NUM_THREADS in the environment wins over
    that default (not over an explicit --threads).
    """
    if requested is None and any(var in environ for var in THREAD_ENV_VARS):
        return None
    if requested is None or requested < 1:
        return max(1, default_threads() - 1) if augmenting else default_threads()
    return requested


def set_threads(requested: int | None, augmenting: bool = False) -> int | None:
    """Apply ``--threads`` (or its default) to BLAS now, loaded or not; returns the count set (or None)."""
    n = threads_for(requested, augmenting, os.environ)
    if n is None:
        return None
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(n)
    if "numpy" in sys.modules:  # OpenBLAS is loaded: the environment alone changes nothing now
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n, user_api="blas")
    return n


def current_threads() -> int:
    """The thread count BLAS runs with: asked of BLAS itself once NumPy is loaded, else the environment's."""
    if "numpy" in sys.modules:
        from threadpoolctl import threadpool_info

        counts = [int(lib["num_threads"]) for lib in threadpool_info() if lib.get("user_api") == "blas"]
        if counts:
            return max(counts)
    for var in THREAD_ENV_VARS:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return int(value)
    return default_threads()
