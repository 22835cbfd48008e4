"""Guessing passwords costs the guesser (R13.3): when a source or an account is paused, and how long a
failed sign-in waits before its answer.

Three limits, each a rule on counts the throttle keeps (`security.throttle`):
- per account and source: after 5 consecutive failures the account is paused *for that source*
  (default 15 minutes), so the owner can still sign in from elsewhere, and is told (R13.3);
- per source across accounts: one source that failed on N different accounts within a window is
  spraying one password over many people, and is paused on every protocol. Distinct accounts are
  counted, not failures, so an office behind one NAT address whose phones keep retrying one stale
  password each is not mistaken for it;
- per account across sources: an account that failed from many sources within a window is being
  guessed from a botnet; those failures wait longer before their answer, and nobody is paused, so
  the owner is never locked out by strangers.

Times are seconds on a monotonic clock, given as a parameter; nothing here reads a clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

ACCOUNT_FAILURES: Final = 5
"""R13.3: consecutive failed sign-ins from one source that pause the account for that source."""
PAUSE_MINUTES: Final = 15.0
"""R13.3: how long that pause lasts by default."""
STEP_SECONDS: Final = 0.25
"""Each consecutive failure of an account from a source waits this much longer before its answer."""
MAX_STEP_DELAY: Final = 2.0
"""The growing delay stops growing here: a client that mistypes is not kept waiting long."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The numbers of the three limits; the defaults are the regulation's and the city's."""

    account_failures: int = ACCOUNT_FAILURES
    pause_seconds: float = PAUSE_MINUTES * 60
    # A source failing on this many different accounts within `source_window_seconds` is paused.
    source_accounts: int = 20
    source_window_seconds: float = 15 * 60
    source_pause_seconds: float = 15 * 60
    # An account failing from this many different sources within `guard_window_seconds` is guarded:
    # each further failure on it waits `guard_delay_seconds` more.
    guard_sources: int = 10
    guard_window_seconds: float = 15 * 60
    guard_delay_seconds: float = 3.0


def window_expired(started: float, now: float, window: float) -> bool:
    """Whether a counting window that opened at `started` is over at `now` (counts start again)."""
    return now - started >= window


def pauses_account(consecutive_failures: int, limits: Limits) -> bool:
    """R13.3: this many consecutive failures from one source pause the account there."""
    return consecutive_failures >= limits.account_failures


def pauses_source(accounts_failed: int, limits: Limits) -> bool:
    """Spraying: one source failed on this many different accounts within the window."""
    return accounts_failed >= limits.source_accounts


def guarded(sources_failed: int, limits: Limits) -> bool:
    """One account failed from this many different sources within the window: guessed from many."""
    return sources_failed >= limits.guard_sources


def remaining(paused_until: float, now: float) -> float:
    """Seconds of a pause left at `now` (0 when it is over)."""
    return max(0.0, paused_until - now)


def failure_delay(consecutive_failures: int, *, is_guarded: bool, limits: Limits) -> float:
    """How long a failed sign-in waits before its answer: a growing step per consecutive failure of
    the account from that source (at most `MAX_STEP_DELAY`), plus the guard's delay when the account
    is being guessed from many sources. A success never waits."""
    step = min(MAX_STEP_DELAY, STEP_SECONDS * max(1, consecutive_failures))
    return step + (limits.guard_delay_seconds if is_guarded else 0.0)


def minutes_left(seconds: float) -> int:
    """A pause's remaining time as the whole minutes a person is told (never 0 while it lasts)."""
    return max(1, math.ceil(seconds / 60))
