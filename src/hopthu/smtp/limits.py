"""Outbound sending limits per account (R3.1): recipients per hour and per day, for submission and
the webmail alike. This module counts; `policy.sending.judge` decides.

Crossing the soft limits defers (SMTP 451 4.7.1); crossing the hard daily limit means the account
is probably hijacked, so it is locked here (R6.4a) through the account service, as the system's act:
the lock is written to the audit log (`account.locked`, actor "system") and the operators are told
by mail (`alert`, once: a second attempt finds the account locked already). Counted in memory on
the node that accepted the mail: a restart forgets at most a day of counts, which only lets a
sender start over, never blocks one wrongly.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from hopthu.policy.sending import DAY, HOUR, Limits, Verdict, judge, lock_note

log = logging.getLogger(__name__)


class Locking(Protocol):
    async def lock_for_spam(self, local: str, note: str) -> bool:
        """Lock the account as presumed hijacked; False when it was no longer active."""
        ...


class SendingLimits:
    def __init__(
        self,
        limits: Limits,
        clock: Callable[[], float] = time.time,
        *,
        accounts: Locking | None = None,
        alert: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.limits = limits
        self._clock = clock
        self.accounts = accounts  # who locks (`directory.accounts.AccountService`)
        self.alert = alert  # who tells the operators: (local part, why), `protection.wiring.lock_alert`
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
        sent = self._window(self._sent.setdefault(account_id, deque()), now)
        verdict = judge(
            attempts_today=len(attempts),
            sent_today=len(sent),
            sent_last_hour=sum(1 for t in sent if now - t < HOUR),
            limits=self.limits,
        )
        if verdict is Verdict.ALLOW:
            sent.append(now)
        return verdict

    async def admit(self, account_id: int, local: str, count: int = 1) -> Verdict:
        """May this account send to `count` more recipients now? All of them or none: the ones
        counted before a refusal are given back. Far over the hard limit, the account is locked
        (R6.4a) before the answer is given."""
        for counted in range(count):
            verdict = self.check(account_id)
            if verdict is Verdict.ALLOW:
                continue
            self.release(account_id, counted)
            if verdict is Verdict.LOCK:
                await self._lock(local)
            return verdict
        return Verdict.ALLOW

    async def _lock(self, local: str) -> None:
        """The lock is the point; the refusal stands whether or not it could be written, so a
        failure to write it is logged for the operators, not turned into a different answer."""
        if self.accounts is None:
            return
        try:
            locked = await self.accounts.lock_for_spam(local, lock_note(self.limits))
        except Exception:
            log.exception("account %s is over the hard sending limit but could not be locked", local)
            return
        if not locked:
            return
        log.warning("account %s locked: over the hard sending limit (R3.1, R6.4a)", local)
        if self.alert is not None:
            try:
                await self.alert(local, lock_note(self.limits))
            except Exception:
                log.exception("the operators could not be told that %s was locked", local)

    def release(self, account_id: int, count: int) -> None:
        """Give back recipients counted for a transaction that then failed (RSET, refused DATA)."""
        sent = self._sent.get(account_id)
        if sent is None:
            return
        for _ in range(min(count, len(sent))):
            sent.pop()
