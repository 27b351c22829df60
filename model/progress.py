"""One status line on a stream: redrawn in place on a terminal, written once per item in a log.

The one progress display of the project, under the MNIST download bar (model.data.mnist)
and the per-epoch training bar (model.training.progress). Standard library only.
"""
from __future__ import annotations

import sys
import time
from typing import TextIO


class StatusLine:
    """A line redrawn at most every ``interval`` seconds on a terminal; nothing but ``finish`` lines elsewhere."""

    def __init__(self, stream: TextIO | None = None, interval: float = 0.25) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval
        self._last = float("-inf")

    def restart(self) -> None:
        """The next ``due`` is true at once (a new epoch or file draws its first state immediately)."""
        self._last = float("-inf")

    def due(self, force: bool = False) -> bool:
        """Whether a redraw is worth it now: on a terminal, ``force`` or ``interval`` since the last one."""
        if not self.live:
            return False
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return False
        self._last = now
        return True

    def draw(self, text: str) -> None:
        """Replace the line in place (terminal only)."""
        if self.live:
            self.stream.write(f"\r{text}\x1b[K")
            self.stream.flush()

    def finish(self, text: str) -> None:
        """The line's final state, ended by a newline (over the live line on a terminal)."""
        self.stream.write(f"\r{text}\x1b[K\n" if self.live else text + "\n")
        self.stream.flush()
