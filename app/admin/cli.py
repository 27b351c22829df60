"""Operator commands: inspect and export feedback, retrain with it, promote and roll back models.

    python -m app.admin feedback stats             what users sent, and how often the model was right
    python -m app.admin feedback export OUT        PNGs + CSV (a folder) or one .npz file
    python -m app.admin feedback purge [--yes]     delete every stored drawing
    python -m app.admin retrain [training flags]   train a candidate (the honest recipe) on MNIST + feedback, gate, promote
    python -m app.admin models list                trained versions and which one is served
    python -m app.admin models promote VERSION     serve VERSION (workers pick it up within ~1 s)
    python -m app.admin models rollback            serve the version that was served before
    python -m app.admin report [--out DIR]         the /model page's figures (SVG) and a summary, as files

Everything lives in the instance folder (--instance, env DIGIT_CANVAS_INSTANCE, default
instance/ in the repository, as for the app): feedback.sqlite3 and models/. The shipped weights
(--weights, env DIGIT_CANVAS_WEIGHTS, default weights/mlp.npz) are read, never written.
"""
from __future__ import annotations

import argparse
import csv
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Callable, Sequence

import click
import numpy as np
from PIL import Image

from app.feedback.postgres import open_feedback_store
from app.feedback.store import FeedbackStore, FeedbackStoreError
from app.serving.model_registry import SHIPPED, ModelRegistry, RegistryError
from app.serving.shared_registry import open_registry as open_shared_or_local_registry
from app.admin.retrain import (
    FEEDBACK_HOLDOUT,
    add_retrain_arguments,
    check_retrain_arguments,
    retrain_config,
    run_retrain,
)
from app.admin.report import cmd_report
from app.admin.text_table import format_table
from app.settings import Settings, resolve_path
from model.artifacts.weights_file import ModelFileError
from model.cli.honest import add_honest_arguments
from model.training.options import add_training_arguments

log = logging.getLogger("app.admin")


def open_store(args: argparse.Namespace) -> FeedbackStore:
    """The shared PostgreSQL store when DIGIT_CANVAS_DATABASE_URL names one, else the instance's SQLite."""
    return open_feedback_store(args.instance, database_url=Settings.from_env().database_url)


def open_registry(args: argparse.Namespace) -> ModelRegistry:
    """The registry every server shares when DIGIT_CANVAS_DATABASE_URL names a database."""
    return open_shared_or_local_registry(args.instance, args.weights, Settings.from_env().database_url)


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
def retrain_parser(prog: str) -> argparse.ArgumentParser:
    """`retrain`'s flags: every training flag of the model's parser plus the feedback and gate ones."""
    parser = argparse.ArgumentParser(
        prog=f"{prog} retrain",
        description="Train a new model with every flag of `python -m model.cli.honest` (MNIST + drawn "
                    "digits + non-digits, an 11th \"not a digit\" output, calibrated), the feedback "
                    "drawings mixed in (\"not a digit\" ones as non-digits); then compare it with the "
                    "served model on the MNIST test set, the held-out drawn digits and non-digits and the "
                    "held-out feedback. It is stored as a new version and promoted only if it is not worse "
                    "by more than --tolerance points on any. Ctrl-C changes nothing. "
                    "Exit status: 0 promoted (or --no-promote), 2 usage, 3 refused by the gate.")
    add_training_arguments(parser)
    add_honest_arguments(parser, init_help="start from this weights file, or 'served' for the model being "
                                           "served (10 outputs are widened to 11); default: random weights")
    add_retrain_arguments(parser)
    return parser


def cmd_retrain(paths: argparse.Namespace, argv: list[str], prog: str) -> int:
    """`retrain ARGV`: the training flags parsed by the train CLI's own function (retrain_config:
    --quick, --threads, range errors), then the feedback and gate flags checked."""
    parser = retrain_parser(prog)
    args = argparse.Namespace(argv=["retrain", *argv], parser=parser)
    config = retrain_config(args)
    args.instance, args.weights = paths.instance, paths.weights
    problem = check_retrain_arguments(args)
    if problem:
        parser.error(problem)
    return run_retrain(args, config, open_registry(args), open_store(args), args.argv)


# -- the click commands ------------------------------------------------------------
# Each command builds the argparse-style namespace the cmd_* functions above read, so they stay
# plain functions of (instance, weights, flags) that tests can also call directly.
PATH = click.Path(path_type=Path)


def _status(ctx: click.Context, call: Callable[[], int]) -> int:
    """A command's nonzero status, or an operator error (one log line, status 1), becomes the exit
    status: click ignores return values when it exits by itself (console script, CliRunner)."""
    try:
        code = call()
    except (RegistryError, ModelFileError, FeedbackStoreError, sqlite3.Error) as exc:
        log.error("%s", exc)
        code = 1
    if code:
        ctx.exit(code)
    return 0


def _run(ctx: click.Context, func: Callable[[argparse.Namespace], int], **flags: object) -> int:
    return _status(ctx, lambda: func(argparse.Namespace(**vars(ctx.obj), **flags)))


@click.group(help=__doc__.split("\n\n")[0],
             epilog="\b\n" + __doc__.split("\n\n", 1)[1].split("\n\n")[0],
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--instance", type=PATH, default=None,
              help="instance folder holding feedback.sqlite3 and models/ (default: $DIGIT_CANVAS_INSTANCE "
                   "or instance/ in the repository)")
@click.option("--weights", type=PATH, default=None,
              help="the shipped weights, served when no version is promoted "
                   "(default: $DIGIT_CANVAS_WEIGHTS or weights/mlp.npz)")
@click.pass_context
def cli(ctx: click.Context, instance: Path | None, weights: Path | None) -> None:
    """The two paths every command needs: the flags, else what main() was given, else Settings."""
    defaults = ctx.obj or {}
    settings = None if defaults.get("instance") and defaults.get("weights") else Settings.from_env()
    ctx.obj = argparse.Namespace(
        instance=resolve_path(instance) if instance else defaults.get("instance") or settings.instance_path,
        weights=resolve_path(weights) if weights else defaults.get("weights") or settings.weights_path,
    )


@cli.group(short_help="inspect, export or delete the stored drawings",
           help="The drawings users confirmed or corrected: inspect, export or delete them.")
def feedback() -> None:
    pass


@feedback.command("stats", help="counts per digit and per model version, and how often the model was right")
@click.pass_context
def feedback_stats(ctx: click.Context) -> int:
    return _run(ctx, cmd_feedback_stats)


@feedback.command("export", help="write the drawings out: a folder (feedback.csv + PNGs) or, if OUT ends "
                                 "in .npz, one NumPy archive")
@click.argument("out", metavar="OUT")
@click.pass_context
def feedback_export(ctx: click.Context, out: str) -> int:
    return _run(ctx, cmd_feedback_export, out=out)


@feedback.command("purge", help="delete every stored drawing (asks first)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.pass_context
def feedback_purge(ctx: click.Context, yes: bool) -> int:
    return _run(ctx, cmd_feedback_purge, yes=yes)


@cli.group(short_help="list, promote or roll back trained versions",
           help="Versions live in <instance>/models/; promoting one switches every worker within about a second.")
def models() -> None:
    pass


@models.command("list", help="every version, its accuracy and gate result; * marks the served one")
@click.pass_context
def models_list(ctx: click.Context) -> int:
    return _run(ctx, cmd_models_list)


@models.command("promote", help="serve VERSION (no gate: the operator decides); VERSION is a name from "
                                "`models list`, or 'shipped'")
@click.argument("version", metavar="VERSION")
@click.option("--note", default=None, help="why, recorded in models/HISTORY.jsonl")
@click.pass_context
def models_promote(ctx: click.Context, version: str, note: str | None) -> int:
    return _run(ctx, cmd_models_promote, version=version, note=note)


@models.command("rollback", help="serve the version that was served before the current one")
@click.option("--note", default=None, help="why, recorded in models/HISTORY.jsonl")
@click.pass_context
def models_rollback(ctx: click.Context, note: str | None) -> int:
    return _run(ctx, cmd_models_rollback, note=note)


@cli.command("report", help="write the figures of the /model page (loss, accuracy, confusion, per-digit "
                             "accuracy, reliability when calibrated; SVG) and summary.txt into OUT")
@click.option("--version", default=None, help="the version to report on (default: the one being served)")
@click.option("--out", type=PATH, default=Path("model-report"), show_default=True, help="folder to write")
@click.pass_context
def report(ctx: click.Context, version: str | None, out: Path) -> int:
    return _run(ctx, lambda args: cmd_report(args, open_registry(args)), version=version, out=out)


@cli.command("retrain", add_help_option=False,
             context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
             short_help="train a candidate on MNIST + feedback, gate it, promote it",
             help="train a candidate on MNIST + feedback, compare it with the served model, promote it if "
                  "it is not worse (`retrain --help`: every training flag)")
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def retrain(ctx: click.Context, argv: tuple[str, ...]) -> int:
    """The training flags go as they are to the model's argparse parser (one parser for both CLIs)."""
    prog = ctx.find_root().info_name or "python -m app.admin"
    return _status(ctx, lambda: cmd_retrain(ctx.obj, list(argv), prog))


def main(argv: Sequence[str] | None = None, instance: Path | None = None, weights: Path | None = None,
         prog: str | None = None) -> int:
    """Run one admin command; returns the exit status (2: usage, 1: a clear error, 3: gate refused).

    ``instance``/``weights``: the defaults when the flags are not given (the Flask command passes
    the app's); otherwise app.settings.Settings, the same resolution as the app's.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if prog is None:  # as it was called: digit-canvas-admin, or python -m app.admin
        prog = "python -m app.admin" if argv is not None or sys.argv[0].endswith(".py") else Path(sys.argv[0]).name
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=argv, prog_name=prog, obj={"instance": instance, "weights": weights},
                        standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
