"""Every knob of a training run (``TrainConfig``), its presets and the augmentation strengths.

No argv here (model.training.options turns a command line into a TrainConfig) and no
training (model.training.loop runs one): just the validated configuration stored in the model card.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from model.nn.network import ACTIVATIONS
from model.nn.optim import SCHEDULES

DEFAULT_LR = {"sgd": 0.1, "adam": 1e-3}


@dataclass
class TrainConfig:
    """Every knob of a training run; stored verbatim in the model card.

    The defaults are the shipped model's recipe (see docs/benchmarks.md, "Shipped model"):
    784-800-800-10, Adam, cosine over 60 epochs, augmented batches; about 6 minutes on
    2 cores. ``REFERENCE`` and ``QUICK`` below are the small plain recipes.
    """

    hidden: tuple[int, ...] = (800, 800)
    activation: str = "relu"
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float | None = None  # None: 0.1 for SGD, 1e-3 for Adam
    momentum: float = 0.9
    nesterov: bool = True
    schedule: str = "cosine"
    step_size: int = 5
    gamma: float = 0.5
    warmup: float = 0.0
    min_lr: float = 0.0
    batch_size: int = 128
    epochs: int = 60
    weight_decay: float = 1e-4
    seed: int = 0
    val_size: int = 5000
    limit: int | None = None
    keep_best: bool = True
    # Strengths for model.training.augment.AugmentConfig ({}: its defaults); None: no augmentation.
    augment: dict[str, Any] | None = field(default_factory=dict)
    # 10 digits, or 11 with a "not a digit" output (label 10; model.training.honest).
    num_classes: int = 10

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.lr is None:
            self.lr = DEFAULT_LR.get(self.optimizer, 0.1)
        problems = []
        if not self.hidden or any(h < 1 for h in self.hidden):
            problems.append(f"hidden sizes must be positive integers, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1), got {self.dropout}")
        if self.optimizer not in DEFAULT_LR:
            problems.append(f"optimizer must be one of {sorted(DEFAULT_LR)}, got {self.optimizer!r}")
        if not self.lr > 0:
            problems.append(f"learning rate must be positive, got {self.lr}")
        if not 0.0 <= self.momentum < 1.0:
            problems.append(f"momentum must be in [0, 1), got {self.momentum}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")
        if self.step_size < 1:
            problems.append(f"step size must be at least 1 epoch, got {self.step_size}")
        if not 0.0 < self.gamma <= 1.0:
            problems.append(f"gamma must be in (0, 1], got {self.gamma}")
        if self.warmup < 0 or self.min_lr < 0 or self.weight_decay < 0:
            problems.append("warmup, min_lr and weight decay cannot be negative")
        if self.batch_size < 1 or self.epochs < 1:
            problems.append("batch size and epochs must be at least 1")
        if self.val_size < 0:
            problems.append(f"validation size cannot be negative, got {self.val_size}")
        if self.limit is not None and self.limit < 2:
            problems.append(f"limit must be at least 2 images, got {self.limit}")
        if self.num_classes not in (10, 11):
            problems.append(f"num_classes must be 10 or 11 (digits + not a digit), got {self.num_classes}")
        if problems:
            raise ValueError("; ".join(problems))
        if self.augment is not None:
            self.augment = augment_settings(self.augment)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["hidden"] = list(self.hidden)
        return out


# The plain recipe without augmentation: 784-256-128-10, SGD Nesterov, 15 epochs, ~98.4%.
REFERENCE = dict(hidden=(256, 128), optimizer="sgd", lr=0.1, epochs=15, augment=None)
# --quick: the reference recipe cut to 6 epochs, 98.1-98.3% in a few seconds.
QUICK = dict(REFERENCE, epochs=6)


def augment_config(strengths: dict[str, Any]):
    """model.training.augment.AugmentConfig from JSON-friendly strengths (scale as a list)."""
    from model.training.augment import AugmentConfig

    strengths = dict(strengths)
    if "scale" in strengths:
        strengths["scale"] = tuple(strengths["scale"])
    try:
        return AugmentConfig(**strengths)
    except TypeError as exc:
        raise ValueError(f"unknown augmentation setting ({exc})") from None


def augment_settings(strengths: dict[str, Any]) -> dict[str, Any]:
    """Every strength of model.training.augment.AugmentConfig, defaults filled in (raises ValueError)."""
    out = dataclasses.asdict(augment_config(strengths))
    out["scale"] = list(out["scale"])
    return out


def parse_hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.replace("-", ",").split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"hidden sizes must look like 256,128 (got {text!r})") from None
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"hidden sizes must be positive (got {text!r})")
    return sizes
