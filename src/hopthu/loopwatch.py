"""How late the event loop wakes: the one number that says whether anything is blocking every protocol.

Every listener, the queue and the web share one event loop, so a handler that computes for 2 s (a
super-linear parse, argon2 on the loop, a large compression) stops the city's mail for 2 s. A small
task sleeps `interval` seconds again and again; how much later than asked it wakes is the stall the
loop just had. The longest stall of each second is kept for the last minute (at most 60 numbers, so
memory does not grow), shown on `/healthz`, and a stall past the warning threshold is logged (at most
once per `WARN_EVERY` seconds, with how many were not logged, so a slow loop does not flood the log).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("hopthu.loopwatch")

INTERVAL = 0.1  # seconds between wake-ups; one short timer, invisible in the loop's own work
WINDOW = 60  # seconds of history kept, one number per second
WARN_EVERY = 10.0  # seconds between two warnings


class LoopWatch:
    def __init__(
        self,
        *,
        warn_ms: float = 250.0,
        interval: float = INTERVAL,
        window: int = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.warn_ms = warn_ms
        self.interval = interval
        self.window = window
        self.clock = clock
        # (whole second, longest stall in it, ms); oldest first, never more than `window` entries
        self._seconds: collections.deque[tuple[int, float]] = collections.deque(maxlen=window)
        self._last_warning = -WARN_EVERY
        self._unlogged = 0
        self.worst_ms = 0.0  # since start

    async def run(self) -> None:
        """Runs until cancelled."""
        while True:
            asked = self.clock()
            await asyncio.sleep(self.interval)
            woke = self.clock()
            self.record(max(0.0, (woke - asked - self.interval) * 1000), woke)

    def record(self, stall_ms: float, now: float) -> None:
        second = int(now)
        if self._seconds and self._seconds[-1][0] == second:
            if stall_ms > self._seconds[-1][1]:
                self._seconds[-1] = (second, stall_ms)
        else:
            self._seconds.append((second, stall_ms))
        self.worst_ms = max(self.worst_ms, stall_ms)
        if stall_ms >= self.warn_ms:
            self._warn(stall_ms, now)

    def max_stall_ms(self, now: float | None = None) -> float:
        """The longest stall within the last `window` seconds."""
        now = self.clock() if now is None else now
        since = int(now) - self.window
        return max((ms for second, ms in self._seconds if second > since), default=0.0)

    def report(self) -> dict[str, Any]:
        """For /healthz: "slow" while a stall over the warning threshold is within the last minute."""
        longest = self.max_stall_ms()
        return {
            "status": "slow" if longest >= self.warn_ms else "ok",
            "max_stall_ms_last_minute": round(longest, 1),
            "max_stall_ms_since_start": round(self.worst_ms, 1),
            "warning_ms": self.warn_ms,
        }

    def _warn(self, stall_ms: float, now: float) -> None:
        if now - self._last_warning < WARN_EVERY:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more since the last warning)" if self._unlogged else ""
        log.warning("event loop stalled %.0f ms: every connection waited%s", stall_ms, more)
        self._last_warning = now
        self._unlogged = 0
