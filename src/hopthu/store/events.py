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
    kind: str  # "append" | "expunge" | "flags" | "mailbox" | "rights" (RIGHTS: who may use the account)
    uids: tuple[int, ...] = ()
    modseq: int = 0
    origin: int = 0  # the session that made the change (0: none), so it need not hear its own echo


RIGHTS = "rights"


def rights_changed(*account_ids: int) -> list[Change]:
    """The event saying that who may use these accounts changed (a delegation granted or withdrawn,
    R8.2): open sessions re-read their rights at once instead of at their next periodic check."""
    return [Change(account_id, 0, RIGHTS) for account_id in account_ids]


class EventBus:
    """Fan-out of changes to the subscribers of each account; slow readers never block writers."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[int, set[asyncio.Queue[Change | None]]] = defaultdict(set)
        # How many RIGHTS events each account had on this node: a session compares it with the value
        # it saw, so even one not subscribed to anything (no mailbox selected) notices in O(1).
        self._rights: dict[int, int] = defaultdict(int)
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

    def resynchronise(self) -> None:
        """Tell every subscriber that changes may have been lost (`None`): each re-reads the store."""
        for queues in self._subscribers.values():
            for queue in queues:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(None)

    @asynccontextmanager
    async def subscribe(self, account_id: int) -> AsyncIterator[asyncio.Queue[Change | None]]:
        """A queue of this account's changes; `None` in it means "changes were lost, re-read"."""
        queue = self.open(account_id)
        try:
            yield queue
        finally:
            self.close(account_id, queue)

    def open(self, account_id: int) -> asyncio.Queue[Change | None]:
        """A subscription that outlives one block (an IMAP session's selected mailbox); `close` ends it."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue(self._queue_size)
        self._subscribers[account_id].add(queue)
        return queue

    def close(self, account_id: int, queue: asyncio.Queue[Change | None]) -> None:
        subscribers = self._subscribers.get(account_id)
        if subscribers is None:
            return
        subscribers.discard(queue)
        if not subscribers:
            del self._subscribers[account_id]
