"""Change notifications, published only after the transaction that made the change committed.

One channel per account feeds IMAP IDLE and the webmail's live updates. The bus fans changes out in
process; with PostgreSQL, `pgrelay.PgRelay` also sends them to the other nodes (LISTEN/NOTIFY) and
hands theirs to this bus, so a session on one node hears what a session on another did.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Change:
    account_id: int
    mailbox_id: int
    # "append" | "expunge" | "flags" | "mailbox" | "rights" (RIGHTS: who may use the account) |
    # "settings" (SETTINGS: what the account set for its mail: its sender lists, its out-of-office)
    kind: str
    uids: tuple[int, ...] = ()
    modseq: int = 0
    origin: int = 0  # the session that made the change (0: none), so it need not hear its own echo


RIGHTS = "rights"
SETTINGS = "settings"


class Subscription:
    """One subscriber's changes, oldest first (`None`: some were lost), with the part of
    `asyncio.Queue`'s interface the bus and its readers use. An IMAP session in IDLE holds one for
    hours; a queue keeps three deques and an Event (about 3 KB) where this keeps two slots until a
    change arrives."""

    __slots__ = ("_arrival", "_items", "_limit", "_waiter")

    def __init__(self, limit: int) -> None:
        self._items: list[Change | None] | None = None
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        self._arrival: Callable[[], None] | None = None

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items) if self._items else 0

    def full(self) -> bool:
        return self._items is not None and len(self._items) >= self._limit

    def put_nowait(self, item: Change | None) -> None:
        if self._items is None:
            self._items = []
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self._arrival is not None:
            arrival, self._arrival = self._arrival, None
            arrival()

    def on_arrival(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` once the next change arrives (None: forget it); IDLE waits this way."""
        self._arrival = callback

    def get_nowait(self) -> Change | None:
        if not self._items:
            raise asyncio.QueueEmpty
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item

    async def get(self) -> Change | None:
        """The next change, waiting for one (one reader at a time)."""
        while not self._items:
            assert self._waiter is None, "one reader at a time"
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self.get_nowait()


def rights_changed(*account_ids: int) -> list[Change]:
    """The event saying that who may use these accounts changed (a delegation granted or withdrawn,
    R8.2): open sessions re-read their rights at once instead of at their next periodic check."""
    return [Change(account_id, 0, RIGHTS) for account_id in account_ids]


def settings_changed(account_id: int) -> list[Change]:
    """The event saying that an account's settings for its incoming mail changed (its sender lists,
    its out-of-office): what delivery keeps of them in memory is read again (`directory.keptsets`)."""
    return [Change(account_id, 0, SETTINGS)]


class EventBus:
    """Fan-out of changes to the subscribers of each account; slow readers never block writers."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[int, set[Subscription]] = defaultdict(set)
        # How many RIGHTS events each account had on this node: a session compares it with the value
        # it saw, so even one not subscribed to anything (no mailbox selected) notices in O(1).
        self._rights: dict[int, int] = defaultdict(int)
        self._settings = 0  # SETTINGS events of any account, and resynchronisations, on this node
        self.outward: Callable[[list[Change]], None] | None = None  # to other nodes, when there are any

    def publish(self, changes: list[Change]) -> None:
        """Fan out changes made on this node (and tell the other nodes)."""
        self.deliver(changes)
        if self.outward is not None and changes:
            self.outward(changes)

    def deliver(self, changes: list[Change]) -> None:
        """Fan out changes to this node's subscribers only (those from another node arrive here)."""
        for change in changes:
            if change.kind == RIGHTS:
                self._rights[change.account_id] += 1
            elif change.kind == SETTINGS:
                self._settings += 1
            for queue in self._subscribers.get(change.account_id, ()):
                if queue.full():
                    # The subscriber fell behind: tell it to resynchronise from the store instead.
                    queue.get_nowait()
                    queue.put_nowait(None)
                else:
                    queue.put_nowait(change)

    def rights_generation(self, account_id: int) -> int:
        """Changes so far to who may use this account (see `rights_changed`)."""
        return self._rights.get(account_id, 0)

    def settings_generation(self) -> int:
        """Changes so far to any account's settings for its mail (see `settings_changed`), and
        moments when some changes may have been lost: what is kept of them is stale once it moves."""
        return self._settings

    def resynchronise(self) -> None:
        """Tell every subscriber that changes may have been lost (`None`): each re-reads the store."""
        self._settings += 1
        for queues in self._subscribers.values():
            for queue in queues:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(self, account_id: int) -> AsyncIterator[Subscription]:
        """A queue of this account's changes; `None` in it means "changes were lost, re-read"."""
        queue = self.open(account_id)
        try:
            yield queue
        finally:
            self.close(account_id, queue)

    def open(self, account_id: int) -> Subscription:
        """A subscription that outlives one block (an IMAP session's selected mailbox); `close` ends it."""
        queue = Subscription(self._queue_size)
        self._subscribers[account_id].add(queue)
        return queue

    def close(self, account_id: int, queue: Subscription) -> None:
        subscribers = self._subscribers.get(account_id)
        if subscribers is None:
            return
        subscribers.discard(queue)
        if not subscribers:
            del self._subscribers[account_id]
