"""Failed sign-ins, counted per client address: after LIMIT failures within WINDOW_SECONDS the address is
refused (429) until the window has passed, so tokens cannot be guessed at speed. Each failure is logged
(without the token tried). Counts live in each serving process: with W processes an address gets at
most W x LIMIT tries a window, still far too few to guess a 256-bit token."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

log = logging.getLogger("frontdoor.signin")
WINDOW_SECONDS = 600


class FailedSignIns:
    def __init__(self, limit: int = 10, window: float = WINDOW_SECONDS) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._seen.setdefault(address, deque())
        while times and times[0] < now - self.window:
            times.popleft()
        return times

    def retry_after(self, address: str) -> int | None:
        """Seconds until this address may try again, or None when it may now."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            if len(times) < self.limit:
                return None
            return max(1, int(times[0] + self.window - now) + 1)

    def failed(self, address: str, where: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 100_000:
                self._seen.clear()
            times = self._recent(address, now)
            times.append(now)
            n = len(times)
        log.warning("failed sign-in from %s (%s): %d in the last %d minutes", address, where, n, self.window // 60)
