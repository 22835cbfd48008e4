"""Outbound sending limits per account (R3.1): recipients per hour and per day.

Crossing the soft limits defers (451 4.7.1); crossing the hard daily limit means the account is
probably hijacked, so the caller locks it (R6.4a) and alerts the operator. Counted in memory on the
node that accepted the mail: a restart forgets at most a day of counts, which only lets a sender
start over, never blocks one wrongly.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from enum import Enum

HOUR = 3600.0
DAY = 24 * HOUR


class Verdict(Enum):
    ALLOW = "allow"
    DEFER = "defer"
    LOCK = "lock"


class SendingLimits:
    def __init__(
        self, per_hour: int, per_day: int, hard_per_day: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.per_hour = per_hour
        self.per_day = per_day
        self.hard_per_day = hard_per_day
        self._clock = clock
        self._sent: dict[int, deque[float]] = {}
        self._attempts: dict[int, deque[float]] = {}

    @staticmethod
    def _window(times: deque[float], now: float) -> deque[float]:
        while times and now - times[0] >= DAY:
            times.popleft()
        return times

    def check(self, account_id: int) -> Verdict:
        """May this account add one more recipient now?"""
        now = self._clock()
        attempts = self._window(self._attempts.setdefault(account_id, deque()), now)
        attempts.append(now)
        if len(attempts) > self.hard_per_day:
            return Verdict.LOCK
        sent = self._window(self._sent.setdefault(account_id, deque()), now)
        last_hour = sum(1 for t in sent if now - t < HOUR)
        if len(sent) >= self.per_day or last_hour >= self.per_hour:
            return Verdict.DEFER
        sent.append(now)
        return Verdict.ALLOW

    def release(self, account_id: int, count: int) -> None:
        """Give back recipients counted for a transaction that then failed (RSET, refused DATA)."""
        sent = self._sent.get(account_id)
        if sent is None:
            return
        for _ in range(min(count, len(sent))):
            sent.pop()
