"""The accounts that have set something delivery must look at, kept in memory.

For every message, delivery asks whether its recipients have their own sender lists and whether
they are out of office. Nearly always nobody has: the answer was a query per message, and a query
run on the event loop waits for the interpreter lock behind the writer's and the body files'
threads (profiled under SMTP load: a seventh of the loop's work). So the ids of the accounts that
have any such setting are kept here, and only those recipients are asked about.

The set is read again after any account's setting changed on any node (a `SETTINGS` event: in this
process, or from another through PostgreSQL's LISTEN/NOTIFY, `store.pgrelay`), after events may
have been lost, and every `REFRESH_SECONDS` in any case. Only a missing id would be wrong (a
person's new rule not applied); an id kept too long costs one query that finds nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from hopthu.store.events import EventBus

REFRESH_SECONDS = 60.0


class KeptAccounts:
    """The ids `load` reads, kept until a settings event or `REFRESH_SECONDS`."""

    def __init__(
        self,
        events: EventBus,
        load: Callable[[], Awaitable[set[int]]],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events = events
        self._load = load
        self._monotonic = monotonic
        self._ids: frozenset[int] | None = None
        self._generation = -1  # the bus's settings generation the kept ids were read under
        self._read_at = 0.0
        self._reading = asyncio.Lock()

    async def among(self, account_ids: set[int]) -> set[int]:
        """Those of `account_ids` that have the setting (or may have it)."""
        if not account_ids:
            return set()
        return account_ids & await self._current()

    async def _current(self) -> frozenset[int]:
        if self._fresh():
            assert self._ids is not None
            return self._ids
        async with self._reading:
            if not self._fresh():
                # The generation is taken before reading: a change committed while the read runs
                # moves it on, so the next question reads again instead of keeping what was missed.
                generation = self._events.settings_generation()
                started = self._monotonic()
                self._ids = frozenset(await self._load())
                self._generation, self._read_at = generation, started
            assert self._ids is not None
            return self._ids

    def _fresh(self) -> bool:
        return (
            self._ids is not None
            and self._generation == self._events.settings_generation()
            and self._monotonic() - self._read_at < REFRESH_SECONDS
        )
