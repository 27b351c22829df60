"""A one-line progress bar per training epoch on stderr (loss, accuracy, time left).

On a terminal the line is redrawn at most a few times a second; in a log file
(nohup, CI) only the end-of-epoch summaries are written, one line each.
"""
from __future__ import annotations

import time
from typing import Any, Protocol, TextIO

from model.progress import StatusLine


class TrainingProgress(Protocol):
    """What ``model.training.loop.train`` reports to; any object with these methods will do."""

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None: ...

    def update(self, step: int, loss: float, accuracy: float) -> None: ...

    def end_epoch(self, record: dict[str, Any], best: bool) -> None: ...


class SilentProgress:
    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        pass

    def update(self, step: int, loss: float, accuracy: float) -> None:
        pass

    def end_epoch(self, record: dict[str, Any], best: bool) -> None:
        pass


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressBar:
    WIDTH = 24
    INTERVAL = 0.25  # seconds between redraws

    def __init__(self, stream: TextIO | None = None) -> None:
        self.line = StatusLine(stream, self.INTERVAL)
        self.live = self.line.live
        self.run_start = time.perf_counter()
        self.epoch_seconds: list[float] = []

    def start_epoch(self, epoch: int, epochs: int, steps: int) -> None:
        self.epoch, self.epochs, self.steps = epoch, epochs, steps
        self.start = time.perf_counter()
        self.line.restart()

    def update(self, step: int, loss: float, accuracy: float) -> None:
        if not self.line.due(force=step >= self.steps):
            return
        frac = step / max(self.steps, 1)
        elapsed = time.perf_counter() - self.start
        epoch_left = elapsed / frac * (1 - frac) if frac > 0 else 0.0
        per_epoch = elapsed / frac if frac > 0 else 0.0
        run_left = epoch_left + per_epoch * (self.epochs - self.epoch - 1)
        filled = int(self.WIDTH * frac)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.line.draw(
            f"epoch {self.epoch + 1}/{self.epochs} [{bar}] {frac:4.0%} loss {loss:.4f} "
            f"acc {accuracy:6.2%}  {format_seconds(epoch_left)} left (run {format_seconds(run_left)})"
        )

    def end_epoch(self, record: dict[str, Any], best: bool) -> None:
        val = ""
        if record.get("val_accuracy") is not None:
            val = f" val_loss {record['val_loss']:.4f} val_acc {record['val_accuracy']:6.2%}"
        self.epoch_seconds.append(record["seconds"])
        left = sum(self.epoch_seconds) / len(self.epoch_seconds) * (self.epochs - self.epoch - 1)
        self.line.finish(
            f"epoch {self.epoch + 1}/{self.epochs} loss {record['train_loss']:.4f} "
            f"acc {record['train_accuracy']:6.2%}{val} lr {record['lr']:.4g} "
            f"{record['seconds']:.1f}s{' *best*' if best else ''}"
            f"{f'  ({format_seconds(left)} left)' if left >= 1 else ''}"
        )
