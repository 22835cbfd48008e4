"""Change notifications, published only after the transaction that made the change committed.

One channel per account feeds IMAP IDLE and the webmail's live updates. This bus is in-process (one
node); across nodes the same events travel over PostgreSQL LISTEN/NOTIFY.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Change:
    account_id: int
    mailbox_id: int
    kind: str  # "append" | "expunge" | "flags" | "mailbox"
    uids: tuple[int, ...] = ()
    modseq: int = 0


class EventBus:
    """Fan-out of changes to the subscribers of each account; slow readers never block writers."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[int, set[asyncio.Queue[Change | None]]] = defaultdict(set)

    def publish(self, changes: list[Change]) -> None:
        for change in changes:
            for queue in self._subscribers.get(change.account_id, ()):
                if queue.full():
                    # The subscriber fell behind: tell it to resynchronise from the store instead.
                    queue.get_nowait()
                    queue.put_nowait(None)
                else:
                    queue.put_nowait(change)

    @asynccontextmanager
    async def subscribe(self, account_id: int) -> AsyncIterator[asyncio.Queue[Change | None]]:
        """A queue of this account's changes; `None` in it means "changes were lost, re-read"."""
        queue: asyncio.Queue[Change | None] = asyncio.Queue(self._queue_size)
        self._subscribers[account_id].add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers[account_id]
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[account_id]
