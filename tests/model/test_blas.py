"""The BLAS environment a CLI sets before NumPy loads (model/training/blas.py)."""
import os

import pytest

from model.training.blas import SPIN_ENV_VAR, THREAD_ENV_VARS, apply_threads_flag


@pytest.fixture
def blas_env(monkeypatch):
    """Every variable apply_threads_flag may write, restored after the test."""
    for var in (*THREAD_ENV_VARS, SPIN_ENV_VAR):
        monkeypatch.setenv(var, "placeholder")
        monkeypatch.delenv(var)
    return monkeypatch


def test_threads_flag_sets_every_blas_variable_and_stops_idle_spinning(blas_env) -> None:
    apply_threads_flag(["--threads", "2"])
    assert [os.environ[var] for var in THREAD_ENV_VARS] == ["2"] * len(THREAD_ENV_VARS)
    assert os.environ[SPIN_ENV_VAR] == "10"


def test_an_operators_spin_setting_is_kept(blas_env) -> None:
    blas_env.setenv(SPIN_ENV_VAR, "28")
    apply_threads_flag([])
    assert os.environ[SPIN_ENV_VAR] == "28"
