"""Operator commands: inspect and export feedback, retrain with it, promote and roll back models.

    python -m app.admin feedback stats             what users sent, and how often the model was right
    python -m app.admin feedback export OUT        PNGs + CSV (a folder) or one .npz file
    python -m app.admin feedback purge [--yes]     delete every stored drawing
    python -m app.admin retrain [training flags]   train a candidate on MNIST + feedback, gate, promote
    python -m app.admin models list                trained versions and which one is served
    python -m app.admin models promote VERSION     serve VERSION (workers pick it up within ~1 s)
    python -m app.admin models rollback            serve the version that was served before

Everything lives in the instance folder (--instance, env DIGIT_CANVAS_INSTANCE, default
./instance): feedback.sqlite3 and models/. The shipped weights (--weights, env
DIGIT_CANVAS_WEIGHTS, default weights/mlp.npz) are read, never written.
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import Callable, Sequence

import click
import numpy as np
from flask import current_app
from flask.cli import with_appcontext
from PIL import Image

from app.feedback.store import FeedbackStore, FeedbackStoreError
from app.serving.model_registry import SHIPPED, ModelRegistry, RegistryError
from app.admin.retrain import (
    FEEDBACK_HOLDOUT,
    add_retrain_arguments,
    check_retrain_arguments,
    retrain_config,
    run_retrain,
)
from app.admin.text_table import format_table
from model.artifacts.weights_file import ModelFileError
from model.training.options import add_training_arguments

log = logging.getLogger("app.admin")
REPO = Path(__file__).resolve().parents[2]


def default_instance() -> Path:
    return Path(os.environ.get("DIGIT_CANVAS_INSTANCE") or REPO / "instance")


def default_weights() -> Path:
    return Path(os.environ.get("DIGIT_CANVAS_WEIGHTS") or REPO / "weights" / "mlp.npz")


def open_store(args: argparse.Namespace) -> FeedbackStore:
    return FeedbackStore.in_folder(args.instance)


def open_registry(args: argparse.Namespace) -> ModelRegistry:
    return ModelRegistry.in_instance(args.instance, args.weights)


def percent(right: int, count: int) -> str:
    return f"{100.0 * right / count:.1f}%" if count else "-"


# -- feedback ------------------------------------------------------------------
def cmd_feedback_stats(args: argparse.Namespace) -> int:
    store = open_store(args)
    stats = store.stats()
    print(f"{stats['total']} drawings in {store.path}; the model was right on "
          f"{stats['right']} ({percent(stats['right'], stats['total'])})")
    if not stats["total"]:
        return 0
    print()
    print(format_table(
        ["digit", "drawings", "model right", "right %"],
        [(d, s["count"], s["right"], percent(s["right"], s["count"]))
         for d, s in sorted(stats["per_label"].items())],
    ))
    print()
    print(format_table(
        ["model version", "drawings", "model right", "right %"],
        [(m, s["count"], s["right"], percent(s["right"], s["count"])) for m, s in stats["per_model"].items()],
    ))
    return 0


def cmd_feedback_export(args: argparse.Namespace) -> int:
    store = open_store(args)
    out = Path(args.out)
    rows = list(store.rows(with_original=out.suffix != ".npz"))
    if out.suffix == ".npz":
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            out,
            ids=np.array([r.id for r in rows], dtype=np.int64),
            images=np.stack([r.seen for r in rows]) if rows else np.zeros((0, 28, 28), np.uint8),
            labels=np.array([r.label for r in rows], dtype=np.uint8),
            predicted=np.array([r.predicted for r in rows], dtype=np.uint8),
            confidence=np.array([r.confidence for r in rows], dtype=np.float32),
            model_version=np.array([r.model_version for r in rows], dtype=str),
            created_at=np.array([r.created_at for r in rows], dtype=str),
        )
        print(f"exported {len(rows)} drawings to {out} (images: uint8 28x28 as the model saw them)")
        return 0
    if out.exists() and any(out.iterdir()):
        print(f"error: {out} exists and is not empty; choose a new folder", file=sys.stderr)
        return 2
    (out / "seen").mkdir(parents=True, exist_ok=True)
    (out / "original").mkdir(exist_ok=True)
    with open(out / "feedback.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "created_at", "label", "predicted", "confidence", "model_version",
                         "seen_png", "original_png"])
        for r in rows:
            seen = f"seen/{r.id:06d}_label{r.label}.png"
            original = f"original/{r.id:06d}.png"
            Image.fromarray(r.seen, mode="L").save(out / seen)
            (out / original).write_bytes(r.original)
            writer.writerow([r.id, r.created_at, r.label, r.predicted, f"{r.confidence:.4f}",
                             r.model_version, seen, original])
    print(f"exported {len(rows)} drawings to {out}/ (feedback.csv, seen/*.png 28x28, original/*.png)")
    return 0


def confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} Type 'yes' to confirm: ").strip().lower() == "yes"
    except EOFError:
        return False


def cmd_feedback_purge(args: argparse.Namespace) -> int:
    store = open_store(args)
    n = store.count()
    if not n:
        print("nothing to purge: the feedback store is empty")
        return 0
    if not args.yes and not confirm(f"Delete all {n} feedback drawings from {store.path}?"):
        print("not purged (pass --yes to purge without a question)", file=sys.stderr)
        return 1
    print(f"purged {store.purge()} drawings")
    return 0


# -- models --------------------------------------------------------------------
def cmd_models_list(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    active = registry.active_version()
    rows = []
    for version in [SHIPPED, *registry.versions()]:
        card = registry.card(version)
        gate = card.get("gate", {})
        rows.append((
            "*" if version == active else "",
            version,
            card.get("created_at", ""),
            _points(card.get("test_accuracy")),
            _points(gate.get("sets", {}).get(FEEDBACK_HOLDOUT, {}).get("candidate")),
            _gate_word(gate),
        ))
    print(format_table(["", "version", "created", "MNIST test", "feedback holdout", "gate"], rows))
    print(f"\nserved: {active} ({registry.active_path()})")
    return 0


def _gate_word(gate: dict) -> str:
    if not gate:
        return ""
    decision = str(gate.get("decision", ""))
    if "--force" in decision:
        return "forced"
    return "passed" if gate.get("passed") else "refused"


def _points(value: object) -> str:
    return f"{100 * float(value):.2f}%" if isinstance(value, (int, float)) else "-"


def cmd_models_promote(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    previous = registry.promote(args.version, note=args.note or "")
    log.info("promoted %s (was %s); workers switch within a second", args.version, previous)
    return 0


def cmd_models_rollback(args: argparse.Namespace) -> int:
    registry = open_registry(args)
    current = registry.active_version()
    target = registry.rollback(note=args.note or "")
    log.info("rolled back from %s to %s; workers switch within a second", current, target)
    return 0


# -- retrain -------------------------------------------------------------------
def cmd_retrain(args: argparse.Namespace) -> int:
    problem = check_retrain_arguments(args)
    if problem:
        args.parser.error(problem)
    config = retrain_config(args)  # the train CLI's parsing: --quick, --threads, range errors
    return run_retrain(args, config, open_registry(args), open_store(args), args.argv)


# -- parser --------------------------------------------------------------------
def build_parser(prog: str = "python -m app.admin") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--instance", type=Path, default=None,
                        help="instance folder holding feedback.sqlite3 and models/ "
                             "(default: $DIGIT_CANVAS_INSTANCE or ./instance)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="the shipped weights, served when no version is promoted "
                             "(default: $DIGIT_CANVAS_WEIGHTS or weights/mlp.npz)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    feedback = commands.add_parser("feedback", help="inspect, export or delete the stored drawings",
                                   description="The drawings users confirmed or corrected.")
    fb = feedback.add_subparsers(dest="action", required=True, metavar="ACTION")
    stats = fb.add_parser("stats", help="counts per digit and per model version, and how often the "
                                        "model was right")
    stats.set_defaults(func=cmd_feedback_stats)
    export = fb.add_parser("export", help="write the drawings out: a folder (feedback.csv + PNGs) "
                                          "or, if OUT ends in .npz, one NumPy archive")
    export.add_argument("out", metavar="OUT", help="a new folder, or a file name ending in .npz")
    export.set_defaults(func=cmd_feedback_export)
    purge = fb.add_parser("purge", help="delete every stored drawing (asks first)")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(func=cmd_feedback_purge)

    models = commands.add_parser("models", help="list, promote or roll back trained versions",
                                 description="Versions live in <instance>/models/; promoting one "
                                             "switches every worker within about a second.")
    md = models.add_subparsers(dest="action", required=True, metavar="ACTION")
    md.add_parser("list", help="every version, its accuracy and gate result; * marks the served one"
                  ).set_defaults(func=cmd_models_list)
    promote = md.add_parser("promote", help="serve VERSION (no gate: the operator decides)")
    promote.add_argument("version", metavar="VERSION", help="a name from `models list`, or 'shipped'")
    promote.add_argument("--note", help="why, recorded in models/HISTORY.jsonl")
    promote.set_defaults(func=cmd_models_promote)
    rollback = md.add_parser("rollback", help="serve the version that was served before the current one")
    rollback.add_argument("--note", help="why, recorded in models/HISTORY.jsonl")
    rollback.set_defaults(func=cmd_models_rollback)

    retrain = commands.add_parser(
        "retrain", help="train a candidate on MNIST + feedback, compare it with the served model, "
                        "promote it if it is not worse",
        description="Train a new model with every flag of `python -m model.cli.train`, the feedback "
                    "drawings mixed in; then compare it with the served model on the MNIST test set "
                    "and the held-out drawings. It is stored as a new version and promoted only if it "
                    "is not worse by more than --tolerance points on either. Ctrl-C changes nothing. "
                    "Exit status: 0 promoted (or --no-promote), 3 refused by the gate.",
    )
    add_training_arguments(retrain)
    add_retrain_arguments(retrain)
    retrain.set_defaults(func=cmd_retrain, parser=retrain)
    parser.retrain_parser = retrain  # type: ignore[attr-defined]
    return parser


def main(argv: Sequence[str] | None = None, instance: Path | None = None, weights: Path | None = None,
         prog: str = "python -m app.admin") -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    args.argv = argv
    args.instance = args.instance or instance or default_instance()
    args.weights = args.weights or weights or default_weights()
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (RegistryError, ModelFileError, FeedbackStoreError, sqlite3.Error) as exc:
        log.error("%s", exc)
        return 1


@click.command("admin", add_help_option=False,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
@with_appcontext
def admin_command(argv: tuple[str, ...]) -> None:
    """Operator commands (feedback, retrain, models); `flask --app app admin --help` lists them."""
    code = main(list(argv), instance=Path(current_app.instance_path),
                weights=Path(current_app.config["WEIGHTS_PATH"]), prog="flask --app app admin")
    raise SystemExit(code)


if __name__ == "__main__":
    sys.exit(main())
