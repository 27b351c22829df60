"""BLAS threads (model/training/blas.py): set after parsing, through threadpoolctl, in one place."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np  # loaded first, as a console script's wrapper does
import pytest
from threadpoolctl import threadpool_info

from model.cli.train import build_parser
from model.training import blas
from model.training.blas import SPIN_ENV_VAR, THREAD_ENV_VARS, default_threads, threads_for
from model.training.options import parse_training_argv

ROOT = Path(__file__).resolve().parents[3]


def blas_threads() -> int:
    """What OpenBLAS itself says it runs with."""
    return max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")


@pytest.fixture
def blas_env(monkeypatch):
    """No thread variable set; every one that the test writes is restored after it, and so is BLAS."""
    for var in (*THREAD_ENV_VARS, SPIN_ENV_VAR):
        monkeypatch.delenv(var, raising=False)
    return monkeypatch


def test_set_threads_changes_the_loaded_blas_and_the_environment(blas_env) -> None:
    assert "numpy" in sys.modules
    for n in (1, 2):
        assert blas.set_threads(n) == n
        assert blas_threads() == n == blas.current_threads()
        assert [os.environ[var] for var in THREAD_ENV_VARS] == [str(n)] * len(THREAD_ENV_VARS)
    np.dot(np.ones((64, 64)), np.ones((64, 64)))  # still computes after the change


@pytest.mark.parametrize("argv, spare_core", [
    ([], True), (["--quick"], False), (["--augment", "off"], False), (["--augment=off"], False),
    (["--quick", "--augment", "on"], True),
])
def test_the_parsed_configuration_decides_the_default_thread_count(blas_env, argv, spare_core) -> None:
    """No --threads: every core, one less when the configuration augments (its prefetch thread needs one)."""
    _, config = parse_training_argv(build_parser(), argv)
    assert (config.augment is not None) == spare_core
    assert blas_threads() == (max(1, default_threads() - 1) if spare_core else default_threads())
    parse_training_argv(build_parser(), [*argv, "--threads", "1"])
    assert blas_threads() == 1


def test_the_environment_wins_over_the_default_but_not_over_the_flag() -> None:
    assert threads_for(None, True, {"OPENBLAS_NUM_THREADS": "1"}) is None
    assert threads_for(3, True, {"OPENBLAS_NUM_THREADS": "1"}) == 3
    assert threads_for(0, False, {}) == default_threads()


def test_a_console_script_style_run_gets_its_threads_though_numpy_came_first(tmp_path) -> None:
    """The entry-point wrapper imports the package (and here NumPy) before main parses --threads."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    code = ("import numpy, sys; from threadpoolctl import threadpool_info; from model.training.options import "
            "parse_training_argv; from model.cli.train import build_parser; "
            "parse_training_argv(build_parser(), ['--quick', '--threads', '1']); "
            "print([lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas'])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[1]"


def test_importing_the_cli_package_stops_idle_spinning_unless_the_operator_set_it(blas_env) -> None:
    blas.prepare_environment()
    assert os.environ[SPIN_ENV_VAR] == "10"
    blas_env.setenv(SPIN_ENV_VAR, "28")
    blas.prepare_environment()
    assert os.environ[SPIN_ENV_VAR] == "28"


def test_evaluating_weights_keeps_every_core_and_kfold_leaves_one_to_augmentation(blas_env) -> None:
    from model.cli.evaluate import build_parser as evaluate_parser

    parse_training_argv(evaluate_parser(), ["weights/mlp.npz"], trains=lambda args: args.kfold is not None)
    assert blas_threads() == default_threads()
    for var in THREAD_ENV_VARS:  # a fresh process: no count in the environment yet
        blas_env.delenv(var)
    parse_training_argv(evaluate_parser(), ["--kfold", "3"], trains=lambda args: args.kfold is not None)
    assert blas_threads() == max(1, default_threads() - 1)
