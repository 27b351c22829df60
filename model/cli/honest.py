"""``python -m model.cli.honest``: train the honest model (digits + "not a digit", calibrated).

    python -m model.cli.honest --init weights/mlp.npz --out weights/mlp.npz     # fine-tune the shipped model
    python -m model.cli.honest --out weights/mlp.npz                            # the shipped recipe from scratch
    python -m model.cli.honest --quick --out /tmp/honest.npz                    # minutes, small net

Every knob of ``python -m model.cli.train`` plus --init and --drawn-scale; the work is
model.training.honest.train_and_save_honest.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Sequence

from model.artifacts import weights_file
from model.artifacts.card import card_path_for
from model.nn.network import MLP
from model.training.honest import drawn_sizes, train_and_save_honest, widen_to_not_digit
from model.training.options import add_training_arguments, load_data, parse_training_argv

PROG = "python -m model.cli.honest"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     description=__doc__.split("\n")[0])
    add_training_arguments(parser)
    add_honest_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="weights file to write (card beside it, .json)")
    parser.add_argument("--quiet", action="store_true")
    return parser


def add_honest_arguments(parser: argparse.ArgumentParser, init_help: str = "") -> None:
    """--init and --drawn-scale: the honest recipe's flags, shared with ``python -m app.admin retrain``."""
    parser.add_argument("--init", type=Path, default=None,
                        help=init_help or "start from this weights file (10 outputs are widened to 11) "
                                          "instead of random weights")
    parser.add_argument("--drawn-scale", type=float, default=1.0,
                        help="multiply the drawn data's sizes (--quick: a quarter of them)")


def load_init(path: Path, hidden: Sequence[int]) -> tuple[MLP, dict[str, str]]:
    """The weights file to start from, widened to 11 outputs, and where it came from (for the card).

    Raises ValueError when its hidden sizes are not the run's --hidden (the state could not load).
    """
    loaded = weights_file.load(path)
    if tuple(loaded.spec["hidden_sizes"]) != tuple(hidden):
        raise ValueError(f"--init {path} has hidden sizes {loaded.spec['hidden_sizes']}, not --hidden {tuple(hidden)}")
    return widen_to_not_digit(loaded), {"path": str(path), "sha256": loaded.sha256, "version": loaded.version}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, config = parse_training_argv(parser, argv)
    sizes = drawn_sizes(args.drawn_scale, args.quick)
    init = source = None
    if args.init is not None:
        try:
            init, source = load_init(args.init, config.hidden)
        except ValueError as exc:
            parser.error(str(exc))
    mnist = load_data(args)
    _, card = train_and_save_honest(config, mnist, args.out, sizes=sizes, init=init, init_source=source,
                                    command=f"{PROG} " + shlex.join(argv), progress=not args.quiet)
    honesty = card["honesty"]
    print(f"{card['version']}: test {card['test_accuracy']:.2%} (11 outputs), T = {card['calibration']['temperature']:.3f}"
          f" -> {args.out} + {card_path_for(args.out)}")
    for name, entry in honesty.items():
        print(f"  {name}: " + ", ".join(f"{k} {v:.2%}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in entry.items() if k not in ("by_family", "verdicts")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
