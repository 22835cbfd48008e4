"""Brute-force protection (R13.3): after N consecutive failed sign-ins an account is paused for the
source they came from, and every failure costs a growing delay before the answer.

Kept in memory: one process serves a node, and a restart forgetting counters only gives an attacker
five more tries. Keys are (account, source address); a success clears the account's counter there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    failures: int = 0
    paused_until: float = 0.0
    last: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        pause_seconds: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.pause_seconds = pause_seconds
        self._clock = clock
        self._records: dict[tuple[str, str], _Record] = {}

    def paused(self, login: str, source: str) -> float:
        """Seconds this login stays paused from this source (0 when it may try)."""
        record = self._records.get((login, source))
        if record is None:
            return 0.0
        return max(0.0, record.paused_until - self._clock())

    def failed(self, login: str, source: str) -> bool:
        """Count a failure; True when this one paused the login (the owner should be told)."""
        now = self._clock()
        if len(self._records) > 200_000:
            self._records = {k: r for k, r in self._records.items() if now - r.last < self.pause_seconds}
        record = self._records.setdefault((login, source), _Record())
        record.failures += 1
        record.last = now
        if record.failures >= self.max_failures:
            record.failures = 0
            record.paused_until = now + self.pause_seconds
            return True
        return False

    def delay(self, login: str, source: str) -> float:
        """How long to wait before answering a failure: grows with each one, at most 2 s."""
        record = self._records.get((login, source))
        return min(2.0, 0.25 * (record.failures if record else 1))

    def succeeded(self, login: str, source: str) -> None:
        self._records.pop((login, source), None)
