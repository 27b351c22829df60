"""Per-worker flood control for POST /feedback.

Kept in memory only and keyed by the client address, so no address is ever written to disk.
Each gunicorn worker counts on its own: with W workers a client gets at most W * limit
requests per window through, which is enough to stop a script from filling the database.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable


class FloodLimiter:
    """At most `limit` events per `window` seconds per key (sliding window)."""

    def __init__(
        self, limit: int = 30, window: float = 60.0, max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record an event for key and say whether it is within the limit."""
        now = self.clock()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                if len(self._events) >= self.max_keys:
                    self._forget_idle(now)
                events = self._events[key] = deque()
            while events and now - events[0] >= self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            return True

    def retry_after(self, key: str) -> float:
        """Seconds until key may send again (0 if it may now)."""
        with self._lock:
            events = self._events.get(key)
            if not events or len(events) < self.limit:
                return 0.0
            return max(0.0, self.window - (self.clock() - events[0]))

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window]
        for k in idle:
            del self._events[k]
        if len(self._events) >= self.max_keys:  # all busy: drop the oldest half, bounded memory
            for k in sorted(self._events, key=lambda k: self._events[k][-1])[: self.max_keys // 2]:
                del self._events[k]
