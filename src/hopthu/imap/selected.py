"""The selected mailbox of a session: sequence numbers, and telling the client what others changed.

A session keeps the UIDs it has announced, in order (the sequence-number map of RFC 9051 §2.3.1.2),
and the MODSEQ up to which it has reported changes. Changes from other sessions, the webmail and
delivery arrive on the event bus as wake-ups; the session then asks the store what changed since
that MODSEQ (one indexed query) and answers EXISTS, FETCH FLAGS and EXPUNGE. EXPUNGE waits while a
command that uses sequence numbers is answered (RFC 9051 §7.5.1). NOOP and IDLE also compare the
mailbox's counters with what the session knows, so a change made on another node is not missed.
"""

from __future__ import annotations

import asyncio
import bisect
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from hopthu.imap import commands as c
from hopthu.imap import responses
from hopthu.imap.responses import bad, flag_list
from hopthu.store import reading
from hopthu.store.db import Database
from hopthu.store.events import RIGHTS, Change, EventBus


@dataclass(frozen=True, slots=True)
class Place:
    """A mailbox as a session addresses it: its IMAP name, the owner account and the stored row."""

    name: str
    account_id: int
    mailbox_id: int
    stored_name: str
    special_use: str | None = None


@dataclass(eq=False)
class Selected:
    place: Place
    uidvalidity: int
    uids: array[int]
    modseq: int
    readonly: bool
    origin: int
    events: EventBus
    queue: asyncio.Queue[Change | None] = field(init=False)
    pending_expunges: set[int] = field(default_factory=set)
    reported: dict[int, int] = field(default_factory=dict)  # uid -> MODSEQ this client already saw
    saved: list[int] = field(default_factory=list)  # the last SEARCH RETURN (SAVE) result (RFC 5182)
    _woken: bool = False
    rights_changed: bool = False  # who may use the mailbox's account changed: the session re-checks

    def __post_init__(self) -> None:
        # 4 bytes a message: a session on a 50,000-message INBOX keeps 200 KB, not 2 MB of ints
        if not (isinstance(self.uids, array) and self.uids.typecode == "I"):
            self.uids = array("I", self.uids)
        self.queue = self.events.open(self.place.account_id)

    def close(self) -> None:
        self.events.close(self.place.account_id, self.queue)

    @property
    def exists(self) -> int:
        return len(self.uids)

    def seq_of(self, uid: int) -> int | None:
        index = bisect.bisect_left(self.uids, uid)
        return index + 1 if index < len(self.uids) and self.uids[index] == uid else None

    def resolve(self, numbers: c.SequenceSet, uid: bool, *, beyond_end: bool = False) -> list[int]:
        """The UIDs a sequence set names (as UIDs or as sequence numbers), ascending, distinct.

        A sequence number past EXISTS is BAD (RFC 3501 §6.4.8 asks for it), except in SEARCH
        (`beyond_end`), where it names no message, as in Dovecot: a search key selects, it does not
        point at a message that must be there."""
        if numbers.saved:  # RFC 5182 §2.1: "$" is the saved result, less what was expunged since
            return [uid for uid in self.saved if self.seq_of(uid) is not None]
        if not self.uids:
            return []
        # Ranges become index spans, merged before any UID is copied: "1:*,1:*,..." repeated costs
        # O(r log r) for r ranges plus the UIDs named, not r times the mailbox.
        spans: list[tuple[int, int]] = []
        uids = self.uids
        for item in numbers.ranges:
            if uid:
                low = uids[-1] if item.start is None else item.start
                high = uids[-1] if item.stop is None else item.stop
                low, high = min(low, high), max(low, high)
                spans.append((bisect.bisect_left(uids, low), bisect.bisect_right(uids, high)))
            else:
                low = len(uids) if item.start is None else item.start
                high = len(uids) if item.stop is None else item.stop
                low, high = min(low, high), max(low, high)
                if high > len(uids):  # RFC 9051 §2.3.1.2: sequence numbers run from 1 to EXISTS
                    if not beyond_end:
                        raise bad("Số thứ tự thư không hợp lệ", f"invalid message sequence number {high}")
                    high = len(uids)
                spans.append((low - 1, high))
        found: list[int] = []
        reached = 0
        for start, stop in sorted(spans):
            start = max(start, reached)
            if start < stop:
                found.extend(uids[start:stop])
                reached = stop
        return found

    def note(self, change: Change | None) -> None:
        """Remember what an event means for this session (the store is asked later, in `sync`)."""
        if change is None:  # events were lost: compare everything
            self._woken = True
        elif change.kind == RIGHTS:
            self.rights_changed = True
        elif change.mailbox_id == self.place.mailbox_id:
            if change.kind == "expunge" and change.origin != self.origin:
                self.pending_expunges.update(change.uids)
            if change.kind == "append" or change.origin != self.origin:
                self._woken = True

    def has_news(self) -> bool:
        """Whether an event for this mailbox is waiting (drained here, remembered for `sync`)."""
        while not self.queue.empty():
            self.note(self.queue.get_nowait())
        return self._woken or self.rights_changed or bool(self.pending_expunges)

    async def wait(self) -> None:
        """Until something may have changed in this mailbox (for IDLE)."""
        while not self.has_news():
            self.note(await self.queue.get())

    async def sync(
        self, db: Database, send: Callable[[bytes], None], *, allow_expunge: bool, poll: bool, condstore: bool
    ) -> None:
        """Tell the client about changes it has not heard of (untagged EXISTS, FETCH, EXPUNGE)."""
        if not self.has_news() and not poll:
            return
        self._woken = False
        state = await reading.state(db, self.place.mailbox_id)
        if state is None:  # the mailbox itself was deleted
            return
        if state.highestmodseq > self.modseq:
            rows = await reading.changed_since(db, self.place.mailbox_id, self.modseq)
            last = self.uids[-1] if self.uids else 0
            added = [row.uid for row in rows if row.uid > last]
            for row in rows:
                if row.uid > last or self.reported.get(row.uid) == row.modseq:
                    continue
                seq = self.seq_of(row.uid)
                if seq is None or row.uid in self.pending_expunges:
                    continue
                items = [b"UID %d" % row.uid, b"FLAGS " + flag_list(row.flags, row.keywords)]
                if condstore:
                    items.append(b"MODSEQ (%d)" % row.modseq)
                send(responses.fetch(seq, items))
            if added:
                self.uids.extend(added)
                send(responses.exists(len(self.uids)))
            self.modseq = max([state.highestmodseq, *(row.modseq for row in rows)])
            self.reported.clear()
        if not allow_expunge:
            return
        gone = self.pending_expunges
        if len(self.uids) - len(gone & set(self.uids)) != state.message_count:
            # Expunges we were not told of (another node): compare with the store's list.
            current = set(await reading.uids(db, self.place.mailbox_id))
            gone = {uid for uid in self.uids if uid not in current}
        self.expunged(sorted(gone & set(self.uids)), send)
        self.pending_expunges = set()

    def expunged(self, uids: list[int], send: Callable[[bytes], None]) -> None:
        """Drop these UIDs, sending EXPUNGE from the highest number down so none is renumbered."""
        for uid in reversed(uids):
            seq = self.seq_of(uid)
            if seq is not None:
                del self.uids[seq - 1]
                send(responses.expunge(seq))
