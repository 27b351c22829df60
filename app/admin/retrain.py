"""Retrain on MNIST plus the users' drawings, and gate the candidate against the served model.

The candidate is trained exactly like ``python -m model.cli.honest`` (same flags, same code:
model.training.honest.train_and_save_honest): MNIST + the project's stroke-drawn digits +
non-digits as an 11th "not a digit" output, calibrated by temperature scaling. The feedback
drawings join the training part - digit corrections as digit examples, "not a digit" ones
(label 10) as non-digit examples - repeated K times since a few dozen drawings would otherwise
drown among 55,000 MNIST digits. A fixed share of the drawings (chosen by a hash of their id,
so a drawing stays on its side as more arrive) is held out to measure whether the model learned
the users' handwriting rather than memorised it.

Nothing is visible until the end: the candidate is written into a staging folder inside
models/ and renamed into place in one step, so Ctrl-C or a crash leaves models/ as it was.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from app.feedback.store import NOT_A_DIGIT, FeedbackStore
from app.serving.model_registry import CARD_NAME, WEIGHTS_NAME, ModelRegistry, load_servable
from app.admin.text_table import format_table
from model.artifacts.card import write_json_atomic
from model.nn.metrics import loss_and_accuracy
from model.artifacts.weights_file import ModelFileError
from model.nn.network import MLP
from model.training.config import TrainConfig
from model.training.loop import as_features, as_labels
from model.training.options import load_data, parse_training_argv

log = logging.getLogger("app.admin")
MNIST_TEST, FEEDBACK_HOLDOUT = "MNIST test", "feedback holdout"
DRAWN_DIGITS, NON_DIGITS = "drawn digits (held out)", "non-digits called not_a_digit (held out)"
FEEDBACK_NOT_DIGIT = "feedback holdout: not a digit, called not_a_digit"
SERVED = "served"  # --init served: fine-tune the model being served


def holdout_mask(ids: np.ndarray, fraction: float) -> np.ndarray:
    """Which feedback rows are held out: a stable hash of each id (splitmix64) below fraction."""
    z = np.asarray(ids, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / 2.0**53 < fraction


@dataclass
class FeedbackSplit:
    train_x: np.ndarray  # uint8 (n, 28, 28)
    train_y: np.ndarray
    holdout_x: np.ndarray
    holdout_y: np.ndarray


def split_feedback(store: FeedbackStore, holdout: float, num_classes: int = 10) -> FeedbackSplit:
    """Feedback rows split by holdout_mask; "not a digit" rows (label 10) only for an 11-output model."""
    ids, images, labels = store.arrays()
    if num_classes < NOT_A_DIGIT + 1:
        keep = labels < num_classes
        if not keep.all():
            log.info("feedback: %d \"not a digit\" drawings left out (this recipe has no 11th output)",
                     int((~keep).sum()))
        ids, images, labels = ids[keep], images[keep], labels[keep]
    held = holdout_mask(ids, holdout)
    return FeedbackSplit(images[~held], labels[~held], images[held], labels[held])


def repeated(x: np.ndarray, y: np.ndarray, times: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The drawings `times` times over (None if there is nothing to add)."""
    if times < 1 or len(y) == 0:
        return None
    return np.concatenate([x] * times), np.concatenate([y] * times)


# -- the gate --------------------------------------------------------------------
@dataclass
class GateRow:
    name: str
    size: int
    active: float | None  # accuracy in [0, 1]; None: no active model or empty set
    candidate: float | None

    @property
    def change_points(self) -> float | None:
        if self.active is None or self.candidate is None:
            return None
        return 100.0 * (self.candidate - self.active)


@dataclass
class GateReport:
    active_version: str
    candidate_version: str
    tolerance_points: float
    rows: list[GateRow]
    reasons: list[str] = field(default_factory=list)  # why the candidate is refused

    @property
    def passed(self) -> bool:
        return not self.reasons

    def table(self) -> str:
        def pct(v: float | None) -> str:
            return "-" if v is None else f"{100 * v:.2f}%"

        rows = [
            (r.name, r.size, pct(r.active), pct(r.candidate),
             "-" if r.change_points is None else f"{r.change_points:+.2f}")
            for r in self.rows
        ]
        return format_table(
            ["set", "images", f"active ({self.active_version})", f"candidate ({self.candidate_version})",
             "change (points)"], rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "active_version": self.active_version,
            "tolerance_points": self.tolerance_points,
            "sets": {r.name: {"size": r.size, "active": r.active, "candidate": r.candidate} for r in self.rows},
            "passed": self.passed,
            "reasons": self.reasons,
        }


def accuracy(model: MLP, x: np.ndarray, y: np.ndarray) -> float | None:
    return loss_and_accuracy(model, x, y)[1] if len(y) else None


def verdict_score(model: MLP, drawn: Any) -> float | None:
    """On the project's held-out drawn sets, with the server's verdict rule and calibration:
    digits - the share whose ``digit`` is right; non-digits - the share called not_a_digit."""
    from model.nn.calibration import calibrated_proba
    from model.nn.verdict import decide as verdicts_for

    if len(drawn) == 0:
        return None
    verdicts = verdicts_for(calibrated_proba(model, drawn.x), drawn.x)
    if np.all(drawn.y < NOT_A_DIGIT):
        return float(np.mean([v.digit == y for v, y in zip(verdicts, drawn.y)]))
    return float(np.mean([v.verdict == "not_a_digit" for v in verdicts]))


def honesty_gate_sets(mnist_test_images: np.ndarray) -> dict[str, Any]:
    """The held-out drawn digits and non-digits (model.data.honest: never trained on)."""
    from model.data import honest

    return {DRAWN_DIGITS: honest.held_out_digits(), NON_DIGITS: honest.held_out_nondigits(mnist_test_images)}


def run_gate(
    active: MLP | None, active_version: str, candidate: MLP, candidate_version: str,
    sets: dict[str, tuple[np.ndarray, np.ndarray]], tolerance_points: float,
    verdict_sets: dict[str, Any] | None = None,
) -> GateReport:
    """Candidate vs active on every non-empty set; refused if worse by more than the tolerance.

    ``verdict_sets`` (model.data.honest.DrawnSet by name) are scored by verdict_score: drawn-digit
    accuracy and the non-digit rejection rate must not drop either.
    """
    rows = [
        GateRow(name, len(y), None if active is None else accuracy(active, x, y), accuracy(candidate, x, y))
        for name, (x, y) in sets.items()
    ]
    rows += [
        GateRow(name, len(drawn), None if active is None else verdict_score(active, drawn),
                verdict_score(candidate, drawn))
        for name, drawn in (verdict_sets or {}).items()
    ]
    report = GateReport(active_version, candidate_version, tolerance_points, rows)
    if active is None:
        report.reasons.append(f"the served model {active_version} cannot be loaded to compare with")
    # An active model without the "not a digit" output rejects only by low confidence, so an
    # untrained one "rejects" everything: its rate is shown, but not a bar to clear.
    unfair = (set() if active is not None and active.spec["num_classes"] > NOT_A_DIGIT
              else {NON_DIGITS, FEEDBACK_NOT_DIGIT})
    for row in rows:
        if row.name in unfair:
            continue
        if row.change_points is not None and row.change_points < -tolerance_points:
            report.reasons.append(
                f"{row.change_points:+.2f} points on {row.name} (tolerance {tolerance_points:.2f})")
    return report


# -- the whole run ---------------------------------------------------------------
@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """The last two renames run to the end even if Ctrl-C comes in between."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def add_retrain_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("feedback and gate")
    g.add_argument("--feedback-oversample", type=int, default=10, metavar="K",
                   help="repeat each feedback drawing K times in the training set (0: MNIST only; default 10)")
    g.add_argument("--feedback-holdout", type=float, default=0.2, metavar="FRACTION",
                   help="share of feedback drawings kept out of training to judge the candidate (default 0.2)")
    g.add_argument("--tolerance", type=float, default=0.2, metavar="POINTS",
                   help="the candidate may be this many accuracy points worse than the served model on "
                        "each set and still be promoted (default 0.2)")
    g.add_argument("--force", action="store_true",
                   help="promote even if the gate refuses (said so in the log)")
    g.add_argument("--no-promote", action="store_true",
                   help="store the candidate and show the gate, but leave the served model alone")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def check_retrain_arguments(args: argparse.Namespace) -> str | None:
    if args.feedback_oversample < 0:
        return "--feedback-oversample cannot be negative"
    if not 0.0 <= args.feedback_holdout < 1.0:
        return "--feedback-holdout must be in [0, 1)"
    if args.tolerance < 0:
        return "--tolerance cannot be negative"
    if args.drawn_scale <= 0:
        return "--drawn-scale must be positive"
    return None


def retrain_config(args: argparse.Namespace) -> TrainConfig:
    """The candidate's TrainConfig, built from the retrain command line by the train CLI's own function.

    ``args.argv`` is the whole admin command line; what follows ``retrain`` goes through
    model.training.options.parse_training_argv with the retrain parser (``args.parser``), so
    --quick means exactly what ``python -m model.cli.train --quick`` means (no augmentation)
    and --threads is applied the same way. The namespace is updated with that parse.
    """
    tail = args.argv[args.argv.index("retrain") + 1:]
    parsed, config = parse_training_argv(args.parser, tail)
    vars(args).update(vars(parsed))
    return config


def feedback_gate_sets(feedback: FeedbackSplit) -> tuple[tuple[np.ndarray, np.ndarray], Any]:
    """The held-out feedback as two gate rows: digit corrections (accuracy) and "not a digit"
    drawings (share called not_a_digit by the server's verdict rule, as a DrawnSet)."""
    from model.data.honest import DrawnSet

    x, y = as_features(feedback.holdout_x), np.asarray(feedback.holdout_y, dtype=np.intp)
    digits, n = y < NOT_A_DIGIT, int(np.sum(y == NOT_A_DIGIT))
    return (x[digits], y[digits]), DrawnSet(x[~digits], y[~digits], ["feedback"] * n, ["feedback"] * n)


def initial_model(args: argparse.Namespace, config: TrainConfig, registry: ModelRegistry,
                  active_version: str) -> tuple[MLP | None, dict[str, Any] | None]:
    """--init (a weights file, or ``served``) loaded and widened to 11 outputs; (None, None) without it.

    Raises ValueError (hidden sizes differ from --hidden) or ModelFileError (unreadable file).
    """
    from model.cli.honest import load_init

    if args.init is None:
        return None, None
    path = registry.path_of(active_version) if str(args.init) == SERVED else args.init
    return load_init(path, config.hidden)


def run_retrain(args: argparse.Namespace, config: TrainConfig, registry: ModelRegistry,
                store: FeedbackStore, argv: list[str]) -> int:
    """Train (the honest recipe), gate, store, maybe promote; returns the exit status."""
    from model.training.honest import NUM_CLASSES, drawn_sizes, held_out_sets, train_and_save_honest

    active_version = registry.active_version()
    try:
        active: MLP | None = load_servable(registry.path_of(active_version))
    except ModelFileError as exc:
        log.error("served model %s cannot be loaded: %s", active_version, exc)
        active = None
    try:
        init, init_source = initial_model(args, config, registry, active_version)
    except (ValueError, ModelFileError) as exc:
        log.error("%s", exc)
        return 2
    feedback = split_feedback(store, args.feedback_holdout, NUM_CLASSES)
    extra = repeated(feedback.train_x, feedback.train_y, args.feedback_oversample)
    log.info("feedback: %d drawings for training (x%d; %d of them \"not a digit\"), %d held out; served model: %s",
             len(feedback.train_y), args.feedback_oversample, int(np.sum(feedback.train_y == NOT_A_DIGIT)),
             len(feedback.holdout_y), active_version)
    staging = None
    try:
        mnist = load_data(args)
        test_x, test_y = as_features(mnist.test_images), as_labels(mnist.test_labels, len(mnist.test_labels))
        held_out = held_out_sets(mnist, test_x, test_y)
        staging = registry.staging_dir()
        _, card = train_and_save_honest(
            config, mnist, staging / WEIGHTS_NAME, sizes=drawn_sizes(args.drawn_scale, args.quick), init=init,
            init_source=init_source, command="python -m app.admin " + shlex.join(argv),
            progress=not args.quiet, extra=extra, held_out=held_out)
        candidate = load_servable(staging / WEIGHTS_NAME)  # as the server will hold it: with its temperature
        version = card["version"]
        feedback_digits, feedback_nondigits = feedback_gate_sets(feedback)
        report = run_gate(active, active_version, candidate, version,
                          {MNIST_TEST: (test_x, test_y), FEEDBACK_HOLDOUT: feedback_digits}, args.tolerance,
                          verdict_sets={DRAWN_DIGITS: held_out["drawn digits (held out)"],
                                        NON_DIGITS: held_out["non-digits (held out)"],
                                        FEEDBACK_NOT_DIGIT: feedback_nondigits})
        promote, decision = decide(report, args)
        card["parent_version"] = active_version
        card["feedback"] = {"train": len(feedback.train_y), "holdout": len(feedback.holdout_y),
                            "train_not_a_digit": int(np.sum(feedback.train_y == NOT_A_DIGIT)),
                            "holdout_not_a_digit": len(feedback_nondigits),
                            "oversample": args.feedback_oversample, "holdout_fraction": args.feedback_holdout}
        card["gate"] = {**report.to_dict(), "decision": decision}
        write_json_atomic(staging / CARD_NAME, card)
        print(report.table())
        with interrupts_ignored():
            registry.add(staging, version)
            if promote:
                registry.promote(version, note=f"retrain: {decision}")
    except BaseException as exc:
        if staging is not None:
            registry.discard(staging)
        if not isinstance(exc, KeyboardInterrupt):
            raise
        print(file=sys.stderr)
        log.warning("interrupted: nothing was changed (no new version, served model still %s)", active_version)
        return 130
    if promote:
        log.info("promoted %s (%s); workers switch to it within a second", version, decision)
    else:
        log.info("%s: %s stored but not served (python -m app.admin models promote %s)",
                 decision, version, version)
    return 0 if promote or args.no_promote else 3


def decide(report: GateReport, args: argparse.Namespace) -> tuple[bool, str]:
    """(promote?, what the log and the card say)."""
    if report.passed:
        if args.no_promote:
            return False, "passed the gate, not promoted (--no-promote)"
        return True, "passed the gate"
    why = "; ".join(report.reasons)
    if args.force and not args.no_promote:
        log.warning("gate refused the candidate (%s); promoting it anyway because of --force", why)
        return True, f"refused by the gate ({why}), promoted by --force"
    log.warning("gate refused the candidate: %s", why)
    return False, f"refused by the gate ({why})"
