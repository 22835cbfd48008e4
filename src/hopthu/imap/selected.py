"""The selected mailbox of a session: sequence numbers, and telling the client what others changed.

A session keeps the UIDs it has announced, in order (the sequence-number map of RFC 9051 §2.3.1.2),
and the MODSEQ up to which it has reported changes. Changes from other sessions, the webmail and
delivery arrive on the event bus as wake-ups; the session then asks the store what changed since
that MODSEQ (one indexed query) and answers EXISTS, FETCH FLAGS and EXPUNGE. EXPUNGE waits while a
command that uses sequence numbers is answered (RFC 9051 §7.5.1). NOOP and IDLE also compare the
mailbox's counters with what the session knows, so a change made on another node is not missed.

The map is loaded a part at a time, newest first, and only as far as a command needs it: SELECT
reads the counters on the mailbox row and the highest UID, and a listing of the newest 50 loads 50
UIDs, so opening a 50,000-message mailbox costs what opening a small one does. The unloaded part is
`base` messages, all with UIDs under `floor`. Each part is read together with how many messages
under its bound the mailbox holds at that moment; with the expunges the session has been told of
but not yet announced, that must give `base` again, or a message the session still numbers was
removed without its event arriving, and the part is read again once the event has arrived.

A keyword the client has not been told of is announced with untagged FLAGS and PERMANENTFLAGS
before the first FETCH that shows it (RFC 3501 §7.2.6; Dovecot does the same), whoever set it.
The session also keeps which UIDs are \\Recent to it (`store.recent`): the ranges it claimed at
SELECT and as new messages reached it, shown in FLAGS, counted in RECENT, searched by RECENT/NEW/OLD.
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
from hopthu.store import reading, recent
from hopthu.store.db import Database
from hopthu.store.events import RIGHTS, Change, EventBus, Subscription
from hopthu.store.flags import RECENT, keyword_list
from hopthu.store.types import StoredMessage

# Keywords every mailbox offers (RFC 5788 registry: forwarded, receipt sent, junk or not).
STANDARD_KEYWORDS = ("$Forwarded", "$MDNSent", "$Junk", "$NotJunk")
_SYSTEM = "\\Answered \\Flagged \\Deleted \\Seen \\Draft"  # RFC 9051 §2.3.2, in the usual order
NO_UID = 2**32  # above every UID (RFC 9051 §2.3.1.1: UIDs are 32-bit)
LARGE = 5000  # messages from which loading the map runs off the event loop
LOAD_RETRIES = 5  # waits for an expunge's event before the session gives up its sequence numbers


def _low(span: tuple[int, int]) -> int:
    return span[0]


class MapLost(ConnectionResetError):
    """Messages this session still numbers were removed and their events were lost: the session
    cannot say which sequence numbers went, so it ends (BYE) and the client opens the mailbox anew."""


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
    queue: Subscription = field(init=False)
    pending_expunges: set[int] = field(default_factory=set)
    reported: dict[int, int] = field(default_factory=dict)  # uid -> MODSEQ this client already saw
    saved: list[int] = field(default_factory=list)  # the last SEARCH RETURN (SAVE) result (RFC 5182)
    _woken: bool = False
    rights_changed: bool = False  # who may use the mailbox's account changed: the session re-checks
    show_recent: bool = True  # IMAP4rev1; RFC 9051 (IMAP4rev2) has no \Recent
    recent: list[tuple[int, int]] = field(default_factory=list)  # UID ranges [low, high) recent here
    # Keywords the client was told of in FLAGS, by upper-case name (keywords match regardless of case)
    keywords: dict[str, str] = field(default_factory=lambda: {k.upper(): k for k in STANDARD_KEYWORDS})
    base: int = 0  # messages before `uids` not loaded yet (their sequence numbers are 1..base)
    floor: int = 0  # every UID not loaded is below this one
    opened: int = 0  # the mailbox's HIGHESTMODSEQ when it was opened

    def __post_init__(self) -> None:
        # 4 bytes a message: a session on a 50,000-message INBOX keeps 200 KB, not 2 MB of ints
        if not (isinstance(self.uids, array) and self.uids.typecode == "I"):
            self.uids = array("I", self.uids)
        self.queue = self.events.open(self.place.account_id)

    def close(self) -> None:
        self.events.close(self.place.account_id, self.queue)

    @property
    def exists(self) -> int:
        return self.base + len(self.uids)

    @property
    def last_uid(self) -> int:
        """The highest UID the client knows of (0: none)."""
        if self.uids:
            return self.uids[-1]
        return self.floor - 1 if self.base else 0

    def knows(self, uid: int) -> bool:
        """Whether `uid`, if it is still stored, has a sequence number in this session."""
        if self.base and uid < self.floor:
            return True
        index = bisect.bisect_left(self.uids, uid)
        return index < len(self.uids) and self.uids[index] == uid

    # --- flags the client knows of -----------------------------------------------------------------

    def flags_response(self) -> bytes:
        """`* FLAGS (...)`: the system flags and every keyword announced so far."""
        listed = " ".join([_SYSTEM, *self.keywords.values()])
        return b"* FLAGS (" + listed.encode("ascii", "replace") + b")\r\n"

    def permanent_response(self) -> bytes:
        """`* OK [PERMANENTFLAGS (...)]`: what STORE keeps; nothing in a read-only session."""
        listed = "" if self.readonly else " ".join([_SYSTEM, *self.keywords.values(), "\\*"])
        text = b")] Co the luu / Flags permitted\r\n"
        return b"* OK [PERMANENTFLAGS (" + listed.encode("ascii", "replace") + text

    def shown(self, row: StoredMessage, send: Callable[[bytes], None]) -> StoredMessage:
        """`row` as this session shows it: a keyword new to the client is announced first (FLAGS
        and PERMANENTFLAGS), and the row carries the \\Recent bit when the message is recent here."""
        if row.keywords:
            self.announce(row.keywords, send)
        if self.recent and self.show_recent and self.is_recent(row.uid):
            return row._replace(flags=row.flags | RECENT)
        return row

    def announce(self, keywords: str | None, send: Callable[[bytes], None]) -> None:
        new = [k for k in keyword_list(keywords) if k.upper() not in self.keywords]
        if not new:
            return
        for keyword in new:
            self.keywords[keyword.upper()] = keyword
        send(self.flags_response())
        if not self.readonly:
            send(self.permanent_response())

    # --- \Recent -------------------------------------------------------------------------------------

    def is_recent(self, uid: int) -> bool:
        # Claims only go up, so the ranges are sorted and apart: one bisection, however many.
        index = bisect.bisect_right(self.recent, uid, key=_low) - 1
        return index >= 0 and uid < self.recent[index][1]

    def recent_count(self) -> int:
        uids = self.uids
        return sum(bisect.bisect_left(uids, hi) - bisect.bisect_left(uids, lo) for lo, hi in self.recent)

    def recent_uids(self) -> frozenset[int]:
        uids = self.uids
        found: set[int] = set()
        for low, high in self.recent:
            found.update(uids[bisect.bisect_left(uids, low) : bisect.bisect_left(uids, high)])
        return frozenset(found)

    async def claim_recent(self, db: Database, floor: int) -> None:
        """Make the messages known here and claimed by no session \\Recent to this one (a
        read-only session only looks: what is unclaimed is recent to it too, and stays unclaimed)."""
        upto = self.last_uid + 1 if self.exists else 0
        floor = recent.floor(db, self.place.mailbox_id, self.uidvalidity, floor)
        if self.readonly:
            if floor < upto and not self.recent:
                self.recent.append((floor, NO_UID))
        else:
            box = self.place.mailbox_id
            claimed = await recent.claim(db, box, self.uidvalidity, upto) if floor < upto else None
            if claimed is None:
                return
            if self.recent and self.recent[-1][1] == claimed[0]:  # no one claimed in between: one range
                self.recent[-1] = (self.recent[-1][0], claimed[1])
            else:
                self.recent.append(claimed)
        if self.recent and self.base and self.recent[0][0] < self.floor:
            # Recent messages are the newest: the map is loaded down to them, so they are counted
            # and searched from it (only the first session after a large import loads it all).
            await self.load(db, low=self.recent[0][0])

    # --- sequence numbers ------------------------------------------------------------------------

    def seq_of(self, uid: int) -> int | None:
        if self.base and uid < self.floor:
            raise AssertionError("sequence number asked of a part of the map not loaded")
        index = bisect.bisect_left(self.uids, uid)
        return self.base + index + 1 if index < len(self.uids) and self.uids[index] == uid else None

    async def resolving(self, db: Database, numbers: c.SequenceSet, uid: bool) -> list[int]:
        """`resolve`, after loading the part of the map the set reaches into."""
        if self.base:
            if numbers.saved:
                await self.load(db)
            elif numbers.ranges and uid:
                low = _lowest(numbers, self.last_uid)
                if low < self.floor:
                    await self.load(db, low=low)
            elif numbers.ranges:
                low = _lowest(numbers, self.exists)
                if low <= self.base:
                    await self.load(db, count=self.base - max(low, 1) + 1)
        return self.resolve(numbers, uid)

    async def load(self, db: Database, *, low: int | None = None, count: int | None = None) -> None:
        """Load the map down to UID `low`, or `count` more messages, or (neither) all of it."""
        for attempt in range(LOAD_RETRIES + 1):
            if not self.base:
                return
            self.has_news()  # expunges told by events are counted in below
            large = (count if count is not None else self.base) > LARGE
            part = await reading.uids_below(
                db, self.place.mailbox_id, self.floor, low=low, count=count, large=large
            )
            gone = {uid for uid in self.pending_expunges if uid < self.floor}
            if part.below + len(gone - set(part.uids)) == self.base:
                lowest = low if low is not None else part.uids[0] if part.uids else 0
                if (low is None and count is None) or len(part.uids) == part.below:
                    lowest = 0  # everything under the floor was read
                kept = sorted({*part.uids, *(uid for uid in gone if uid >= lowest)})
                self.uids[0:0] = array("I", kept)
                self.base -= len(kept)
                self.floor = lowest if self.base else 0
                return
            if attempt < LOAD_RETRIES:  # an expunge committed, its event not here yet
                await asyncio.sleep(0.002 * 4**attempt)
        raise MapLost("messages expunged without their events")

    def resolve(self, numbers: c.SequenceSet, uid: bool, *, beyond_end: bool = False) -> list[int]:
        """The UIDs a sequence set names (as UIDs or as sequence numbers), ascending, distinct;
        `resolving` has loaded what it reaches into.

        A sequence number past EXISTS is BAD (RFC 3501 §6.4.8 asks for it), except in SEARCH
        (`beyond_end`), where it names no message, as in Dovecot: a search key selects, it does not
        point at a message that must be there."""
        if numbers.saved:  # RFC 5182 §2.1: "$" is the saved result, less what was expunged since
            return [uid for uid in self.saved if self.seq_of(uid) is not None]
        if not self.uids and not self.base:
            return []
        base = self.base
        last = self.last_uid
        # Ranges become index spans, merged before any UID is copied: "1:*,1:*,..." repeated costs
        # O(r log r) for r ranges plus the UIDs named, not r times the mailbox.
        spans: list[tuple[int, int]] = []
        uids = self.uids
        for item in numbers.ranges:
            if uid:
                low = last if item.start is None else item.start
                high = last if item.stop is None else item.stop
                low, high = min(low, high), max(low, high)
                if base and low < self.floor:
                    raise AssertionError("UID set resolved before its part of the map was loaded")
                spans.append((bisect.bisect_left(uids, low), bisect.bisect_right(uids, high)))
            else:
                low = base + len(uids) if item.start is None else item.start
                high = base + len(uids) if item.stop is None else item.stop
                low, high = min(low, high), max(low, high)
                if low <= base:
                    raise AssertionError("sequence set resolved before its part of the map was loaded")
                if high > base + len(uids):  # RFC 9051 §2.3.1.2: sequence numbers run from 1 to EXISTS
                    if not beyond_end:
                        raise bad("Số thứ tự thư không hợp lệ", f"invalid message sequence number {high}")
                    high = base + len(uids)
                spans.append((max(low - 1 - base, 0), max(high - base, 0)))
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
            # An expunge with a MODSEQ not above the one of the moment the mailbox was opened was
            # committed before: its messages were never in this session's map.
            if change.kind == "expunge" and change.origin != self.origin and change.modseq > self.opened:
                self.pending_expunges.update(change.uids)
            if change.kind == "append" or change.origin != self.origin:
                self._woken = True

    def has_news(self) -> bool:
        """Whether an event for this mailbox is waiting (drained here, remembered for `sync`)."""
        while not self.queue.empty():
            self.note(self.queue.get_nowait())
        return self._woken or self.rights_changed or bool(self.pending_expunges)

    def on_news(self, callback: Callable[[], None] | None) -> None:
        """Call `callback` once a change for the account arrives (None: forget it), for IDLE."""
        self.queue.on_arrival(callback)

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
        if self.base and (state.highestmodseq > self.modseq or self.pending_expunges):
            await self.load(db)  # something changed: its sequence numbers may be anywhere
        if state.highestmodseq > self.modseq:
            rows = await reading.changed_since(db, self.place.mailbox_id, self.modseq)
            last = self.last_uid
            added = [row.uid for row in rows if row.uid > last]
            for row in rows:
                if row.uid > last or self.reported.get(row.uid) == row.modseq:
                    continue
                seq = self.seq_of(row.uid)
                if seq is None or row.uid in self.pending_expunges:
                    continue
                self.announce(row.keywords, send)
                flags = row.flags | RECENT if self.show_recent and self.is_recent(row.uid) else row.flags
                items = [b"UID %d" % row.uid, b"FLAGS " + flag_list(flags, row.keywords)]
                if condstore:
                    items.append(b"MODSEQ (%d)" % row.modseq)
                send(responses.fetch(seq, items))
            if added:
                self.uids.extend(added)
                send(responses.exists(self.exists))
                await self.claim_recent(db, state.recent_uid)
                if self.show_recent:
                    send(b"* %d RECENT\r\n" % self.recent_count())
            self.modseq = max([state.highestmodseq, *(row.modseq for row in rows)])
            self.reported.clear()
        if not allow_expunge:
            return
        gone = {uid for uid in self.pending_expunges if self.knows(uid)}
        if self.exists - len(gone) != state.message_count:
            # Expunges we were not told of (another node): compare with the store's list.
            await self.load(db)
            current = set(await reading.uids(db, self.place.mailbox_id))
            gone = {uid for uid in self.uids if uid not in current}
        self.expunged(sorted(gone), send)
        self.pending_expunges = set()

    def expunged(self, uids: list[int], send: Callable[[bytes], None]) -> None:
        """Drop these UIDs, sending EXPUNGE from the highest number down so none is renumbered."""
        for uid in reversed(uids):
            seq = self.seq_of(uid)
            if seq is not None:
                del self.uids[seq - 1 - self.base]
                send(responses.expunge(seq))


def _lowest(numbers: c.SequenceSet, star: int) -> int:
    """The lowest number a set names, `*` being `star`."""
    return min(
        min(star if item.start is None else item.start, star if item.stop is None else item.stop)
        for item in numbers.ranges
    )
