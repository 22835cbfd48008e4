"""Brute-force protection (R13.3): the counters behind `policy.signin`'s three limits.

- per (account, source): consecutive failures and a pause of the account for that source only;
- per source: the different accounts it failed on within a window, and a pause of the source;
- per account: the different sources it failed from within a window (the guard against guessing
  from many addresses, which only slows those failures down).

Kept in memory, per node: one process serves a node and a restart forgetting counters only gives an
attacker a few more tries; behind a load balancer each node counts what it sees. Memory is bounded:
each table is an LRU of at most `max_entries` keys (the least recently touched goes first), and the
lists inside an entry hold 32-bit hashes (not the strings an attacker sent) and stop growing once
they reach the number that decides: with the default 50,000 entries a table, about 50 MiB at worst
(measured with every table full and every list at its cap).
"""

from __future__ import annotations

import time
from array import array
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from hopthu.policy import signin
from hopthu.policy.signin import Limits

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A dict of at most `size` entries that forgets the least recently used first."""

    def __init__(self, size: int, make: Callable[[], V]) -> None:
        self._size = size
        self._make = make
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def touch(self, key: K) -> V:
        found = self.get(key)
        if found is None:
            found = self._items[key] = self._make()
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return found

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class _Pair:
    failures: int = 0
    paused_until: float = 0.0


@dataclass(slots=True)
class _Window:
    """Who failed within a window that opened at `started` (other accounts, or other sources), as
    32-bit hashes in a compact array: at most the few tens the limit needs, searched in a few ns."""

    started: float = 0.0
    seen: array = field(default_factory=lambda: array("I"))
    paused_until: float = 0.0

    def add(self, who: str, now: float, window: float, cap: int) -> int:
        if signin.window_expired(self.started, now, window):
            self.started, self.seen = now, array("I")
        key = hash(who) & 0xFFFFFFFF
        if len(self.seen) < cap and key not in self.seen:
            self.seen.append(key)
        return len(self.seen)


@dataclass(frozen=True, slots=True)
class Failure:
    """What one failure did: paused the account for this source and/or paused the source (each true
    only for the failure that started the pause, so the owner is told once), and the wait before the
    answer."""

    paused_account: bool
    paused_source: bool
    delay: float


class LoginThrottle:
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 50_000,
    ) -> None:
        self.limits = limits or Limits()
        self._clock = clock
        self._pairs: _Lru[tuple[str, str], _Pair] = _Lru(max_entries, _Pair)
        self._sources: _Lru[str, _Window] = _Lru(max_entries, _Window)
        self._accounts: _Lru[str, _Window] = _Lru(max_entries, _Window)

    def paused(self, login: str, source: str) -> float:
        """Seconds this login stays paused from this source (0 when it may try)."""
        pair = self._pairs.get((login, source))
        return signin.remaining(pair.paused_until, self._clock()) if pair else 0.0

    def source_paused(self, source: str) -> float:
        """Seconds this source stays paused for every account (0 when it may try)."""
        window = self._sources.get(source)
        return signin.remaining(window.paused_until, self._clock()) if window else 0.0

    def failed(self, login: str, source: str) -> Failure:
        """Count a failure of `login` from `source` on the three limits."""
        now, limits = self._clock(), self.limits
        pair = self._pairs.touch((login, source))
        pair.failures += 1
        consecutive = pair.failures
        paused_account = signin.pauses_account(pair.failures, limits)
        if paused_account:
            pair.failures = 0
            pair.paused_until = now + limits.pause_seconds

        spray = self._sources.touch(source)
        accounts = spray.add(login, now, limits.source_window_seconds, limits.source_accounts)
        paused_source = signin.pauses_source(accounts, limits) and spray.paused_until <= now
        if paused_source:
            spray.paused_until = now + limits.source_pause_seconds
            spray.started, spray.seen = now, array("I")

        guard = self._accounts.touch(login)
        sources = guard.add(source, now, limits.guard_window_seconds, limits.guard_sources)
        delay = signin.failure_delay(consecutive, is_guarded=signin.guarded(sources, limits), limits=limits)
        return Failure(paused_account, paused_source, delay)

    def succeeded(self, login: str, source: str) -> None:
        """A right password ends the run of failures of this account from this source."""
        self._pairs.pop((login, source))

    def sizes(self) -> tuple[int, int, int]:
        """Entries held per table (pairs, sources, accounts): bounded by `max_entries` each."""
        return len(self._pairs), len(self._sources), len(self._accounts)
