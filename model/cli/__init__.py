"""Command-line front ends (argv only): train, evaluate, study, data; each ``main(argv=None) -> int``.

Importing this package sets OpenBLAS's idle-thread spin time before NumPy loads (see
model.training.blas); the thread count itself is set after parsing, by threadpoolctl.
"""
from model.training.blas import prepare_environment

prepare_environment()
