"""``python -m model.cli.study`` / ``digit-canvas-study``: the lab's study, as a markdown table.

Hidden sizes x batch sizes x LR decay x best checkpoint on one training budget
(model.training.study runs it; docs/study.md has the results).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from model.training import blas
from model.training.options import load_data
from model.training.study import markdown_table, run_study

PROG = "python -m model.cli.study"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="the budget: epochs of every run")
    parser.add_argument("--lr", type=float, default=0.05, help="initial learning rate (SGD, Nesterov 0.9)")
    parser.add_argument("--seeds", type=int, default=2, help="repeat with seeds 0..N-1 (mean ± std)")
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=None, help="random N training images only (quick check)")
    parser.add_argument("--mnist-dir", default=None)
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads (default: 1)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    # Default one thread: these matrices are small, and threads only add synchronisation
    # (on a busy machine a batch-20 epoch gets 20 times slower with two).
    blas.set_threads(1 if args.threads is None else args.threads)
    mnist = load_data(args)
    start = time.perf_counter()
    rows = run_study(mnist, args.epochs, args.lr, range(args.seeds), args.val_size, args.limit)
    table = markdown_table(rows)
    footer = (f"\n\n{len(rows)} runs of {args.epochs} epochs, {time.perf_counter() - start:.0f}s in all, "
              f"{blas.current_threads()} BLAS thread(s).")
    print(table + footer)
    if args.out:
        args.out.write_text(table + footer + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
