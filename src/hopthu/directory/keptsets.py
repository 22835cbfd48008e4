"""What delivery reads from the store for every message and nearly never changes, kept in memory:
the city's sender lists, and the accounts that have set something delivery must look at.

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
from typing import Generic, TypeVar

from hopthu.store.events import EventBus

REFRESH_SECONDS = 60.0
T = TypeVar("T")


class Kept(Generic[T]):
    """What `load` reads from the store, kept until `forget`, until `generation` moves (a change
    event says it is stale), or `REFRESH_SECONDS` (a change no event told of)."""

    def __init__(
        self,
        load: Callable[[], Awaitable[T]],
        *,
        generation: Callable[[], int] = lambda: 0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._generation = generation
        self._monotonic = monotonic
        self._value: T | None = None
        self._read_under = -1  # the generation the kept value was read under
        self._read_at = 0.0
        self._reading = asyncio.Lock()

    async def value(self) -> T:
        if not self._fresh():
            async with self._reading:
                if not self._fresh():
                    # The generation is taken before reading: a change committed while the read
                    # runs moves it on, so the next question reads again instead of keeping what
                    # was missed.
                    generation, started = self._generation(), self._monotonic()
                    self._value = await self._load()
                    self._read_under, self._read_at = generation, started
        assert self._value is not None
        return self._value

    def forget(self) -> None:
        """Read again at the next question (a change made here)."""
        self._value = None

    def _fresh(self) -> bool:
        return (
            self._value is not None
            and self._read_under == self._generation()
            and self._monotonic() - self._read_at < REFRESH_SECONDS
        )


class KeptAccounts(Kept[frozenset[int]]):
    """The ids `load` reads, kept until a settings event (`store.events.settings_changed`) or
    `REFRESH_SECONDS`."""

    def __init__(
        self,
        events: EventBus,
        load: Callable[[], Awaitable[set[int]]],
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        async def ids() -> frozenset[int]:
            return frozenset(await load())

        super().__init__(ids, generation=events.settings_generation, monotonic=monotonic)

    async def among(self, account_ids: set[int]) -> set[int]:
        """Those of `account_ids` that have the setting (or may have it)."""
        if not account_ids:
            return set()
        return account_ids & await self.value()
