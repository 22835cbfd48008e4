"""Reading messages a mailbox at a time, for IMAP sessions and the webmail: only indexed queries.

A session names messages by UID; a set of UIDs becomes a few `uid BETWEEN lo AND hi` ranges (UIDs
are mostly consecutive) and a list of the scattered ones, so even "1:*" of a 50,000-message mailbox
is one range read on the (mailbox_id, uid) index, never a scan of other mailboxes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterator, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.flags import DELETED, SEEN
from hopthu.store.schema import mailbox, message
from hopthu.store.types import FlagRow, MailboxOpening, MailboxState, MessageField, StoredMessage, UidsBelow

# A set of UIDs is read in parts of a few fixed shapes (`uid_parts`), each compiled once: at most
# RANGES_PER_PART ranges, padded up to a power of two, and SINGLES_PER_PART UIDs in one IN list.
RANGE_SLOTS = (0, 1, 2, 4, 8, 16, 32, 64)
RANGES_PER_PART = RANGE_SLOTS[-1]
SINGLES_PER_PART = 500
SHORT_RUN = 2  # a run of this many UIDs or fewer is cheaper as single values than as a range
KEPT_QUERIES = 256  # FETCH statements kept, one per set of fields and UID shape


def uid_runs(uids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted, distinct UIDs as inclusive runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for uid in uids:
        if runs and uid == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], uid)
        elif not runs or uid > runs[-1][1]:
            runs.append((uid, uid))
    return runs


def uid_parts(uids: Sequence[int]) -> Iterator[tuple[sa.ColumnElement[bool], dict[str, Any]]]:
    """WHERE clauses over `message.uid`, each with its parameters, that together select exactly
    `uids` (sorted, distinct), in ascending parts.

    Each clause is one of a few constant shapes (`_uid_shape`), so SQLAlchemy compiles it once and
    finds it again by identity. Written out as `uid = 5 OR uid BETWEEN 7 AND 9 …`, every new
    pattern of gaps was a new statement to compile: a mailbox thinned by expunges made FETCH 1:*
    compile again on most calls, a growing share of an IMAP server's time."""
    ranges: list[tuple[int, int]] = []
    singles: list[int] = []
    for lo, hi in uid_runs(uids):
        if hi - lo < SHORT_RUN:
            singles.extend(range(lo, hi + 1))
        else:
            ranges.append((lo, hi))
        if len(ranges) == RANGES_PER_PART or len(singles) >= SINGLES_PER_PART:
            yield _uid_part(ranges, singles)
            ranges, singles = [], []
    if ranges or singles:
        yield _uid_part(ranges, singles)


def _uid_part(
    ranges: list[tuple[int, int]], singles: list[int]
) -> tuple[sa.ColumnElement[bool], dict[str, Any]]:
    slots = next(slots for slots in RANGE_SLOTS if slots >= len(ranges))
    params: dict[str, Any] = {"uid_singles": singles} if singles else {}
    for slot, (lo, hi) in enumerate(ranges + [(1, 0)] * (slots - len(ranges))):  # (1, 0): nothing
        params[f"uid_lo{slot}"] = lo
        params[f"uid_hi{slot}"] = hi
    return _uid_shape(slots, bool(singles)), params


@functools.cache
def _uid_shape(ranges: int, singles: bool) -> sa.ColumnElement[bool]:
    terms = [
        message.c.uid.between(sa.bindparam(f"uid_lo{n}"), sa.bindparam(f"uid_hi{n}")) for n in range(ranges)
    ]
    if singles:
        terms.append(message.c.uid.in_(sa.bindparam("uid_singles", expanding=True)))
    return sa.or_(*terms)


async def state(db: Database, mailbox_id: int) -> MailboxState | None:
    row = await db.first(_STATE, {"box": mailbox_id})
    return None if row is None else MailboxState(*row)


_STATE = sa.select(
    mailbox.c.uidvalidity,
    mailbox.c.uidnext,
    mailbox.c.highestmodseq,
    mailbox.c.message_count,
    mailbox.c.unseen_count,
    mailbox.c.recent_uid,
).where(mailbox.c.id == sa.bindparam("box"))


async def uids(db: Database, mailbox_id: int) -> list[int]:
    """Every UID of a mailbox, ascending: a session's map from sequence numbers to UIDs."""
    return await db.integers(_UIDS, {"box": mailbox_id})


_UIDS = sa.select(message.c.uid).where(message.c.mailbox_id == sa.bindparam("box")).order_by(message.c.uid)


async def opening(db: Database, mailbox_id: int, *, unseen: bool) -> MailboxOpening | None:
    """What SELECT says of a mailbox, without reading its messages: the counters kept on its row,
    its highest UID (the (mailbox_id, uid) index), and with `unseen` the sequence number of the
    lowest unseen message, counted from whichever end of the mailbox is nearer. One statement, so
    every figure is of the same moment whatever commits meanwhile."""
    row = await db.first(_OPENING_UNSEEN if unseen else _OPENING, {"box": mailbox_id})
    if row is None:
        return None
    return MailboxOpening(MailboxState(*row[:6]), row[6] or 0, row[7])


_BOX = message.c.mailbox_id == sa.bindparam("box")
_FIRST_UNSEEN_UID = (
    sa.select(sa.func.min(message.c.uid)).where(_BOX, message.c.flags.op("&")(SEEN) == 0).scalar_subquery()
)
_LAST_UID = sa.select(sa.func.max(message.c.uid)).where(_BOX).scalar_subquery()
_OPENING = sa.select(*_STATE.selected_columns, _LAST_UID, sa.null()).where(
    mailbox.c.id == sa.bindparam("box")
)
_FIRST_UID = sa.select(sa.func.min(message.c.uid)).where(_BOX).scalar_subquery()
_OPENING_UNSEEN = sa.select(
    *_STATE.selected_columns,
    _LAST_UID,
    # Only when the counter says there is an unseen message: finding none would read every row.
    sa.case(
        (
            mailbox.c.unseen_count > 0,
            sa.case(
                (
                    _FIRST_UNSEEN_UID - _FIRST_UID <= _LAST_UID - _FIRST_UNSEEN_UID,
                    sa.select(sa.func.count())
                    .where(_BOX, message.c.uid <= _FIRST_UNSEEN_UID)
                    .scalar_subquery(),
                ),
                else_=mailbox.c.message_count
                - sa.select(sa.func.count()).where(_BOX, message.c.uid > _FIRST_UNSEEN_UID).scalar_subquery(),
            ),
        )
    ),
).where(mailbox.c.id == sa.bindparam("box"))


async def uids_below(
    db: Database,
    mailbox_id: int,
    floor: int,
    *,
    low: int | None = None,
    count: int | None = None,
    large: bool = False,
) -> UidsBelow:
    """The UIDs under `floor` from `low` up (or the `count` highest), ascending, and how many
    messages under `floor` the mailbox holds, in one statement: the counter on the mailbox row less
    the messages from `floor` up, so the check costs what the UIDs read do, not a count of all."""
    params = {"box": mailbox_id, "floor": floor}
    if count is not None:
        statement, params["count"] = _UIDS_BELOW_NEWEST, count
    else:
        statement, params["low"] = _UIDS_BELOW_FROM, low or 0
    found: list[int] = []
    below = 0
    rows = await db.all(statement, params, large=True) if large else await db.tuples(statement, params)
    for uid, counted in rows:
        if uid is None:
            below = counted
        else:
            found.append(uid)
    found.sort()
    return UidsBelow(found, below)


def _uids_below(newest: bool) -> sa.CompoundSelect[Any]:
    """`uids_below`'s statement: the `count` newest UIDs under `floor`, or those from `low` up, with
    the count of messages under `floor`; built once per shape, so its compiled form is kept."""
    box = message.c.mailbox_id == sa.bindparam("box")
    floor: sa.BindParameter[int] = sa.bindparam("floor")
    if newest:
        chosen = (
            sa.select(message.c.uid)
            .where(box, message.c.uid < floor)
            .order_by(message.c.uid.desc())
            .limit(sa.bindparam("count"))
            .subquery()
        )
        part = sa.select(chosen.c.uid, sa.cast(sa.null(), sa.Integer))
    else:
        part = sa.select(message.c.uid, sa.cast(sa.null(), sa.Integer)).where(
            box, message.c.uid < floor, message.c.uid >= sa.bindparam("low")
        )
    above = sa.select(sa.func.count()).where(box, message.c.uid >= floor).scalar_subquery()
    total = sa.select(sa.cast(sa.null(), sa.Integer), mailbox.c.message_count - above).where(
        mailbox.c.id == sa.bindparam("box")
    )
    return sa.union_all(part, total)


_UIDS_BELOW_NEWEST = _uids_below(newest=True)
_UIDS_BELOW_FROM = _uids_below(newest=False)


async def rows(
    db: Database, mailbox_id: int, wanted: Sequence[int], columns: Sequence[sa.ColumnElement[Any]]
) -> list[Any]:
    """The given columns (plus uid first) of the messages with these UIDs, ascending by UID: the
    webmail's older form of `messages`, which gives typed rows."""
    found: list[Any] = []
    for condition, params in uid_parts(wanted):
        found.extend(
            await db.all(
                sa.select(message.c.uid, *columns)
                .where(message.c.mailbox_id == mailbox_id, condition)
                .order_by(message.c.uid),
                params,
            )
        )
    return found


async def messages(
    db: Database, mailbox_id: int, wanted: Sequence[int], fields: Collection[MessageField]
) -> list[StoredMessage]:
    """The messages with these UIDs (sorted, distinct), ascending, with `fields` read (FETCH)."""
    names = tuple(sorted(fields))
    found: list[StoredMessage] = []
    make = stored_messages(names)
    for condition, params in uid_parts(wanted):
        found.extend(make(await db.tuples(_messages_query(names, condition), {**params, "box": mailbox_id})))
    return found


@functools.lru_cache(maxsize=KEPT_QUERIES)
def _messages_query(names: tuple[MessageField, ...], condition: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """One constant statement per FETCH's fields and UID shape: its cache key is made once. A client
    chooses the fields, so how many are kept is bounded; one dropped is made again when asked."""
    return (
        sa.select(message.c.uid, *(message.c[name] for name in names))
        .where(message.c.mailbox_id == sa.bindparam("box"), condition)
        .order_by(message.c.uid)
    )


@functools.cache
def stored_messages(names: tuple[MessageField, ...]) -> Callable[[Sequence[Any]], list[StoredMessage]]:
    """Rows of (uid, *names) as `StoredMessage`s: each row's values are put in the tuple's order
    beside the defaults by one `itemgetter`, so a row costs no Python call per field."""
    read = ("uid", *names)
    defaults = tuple(StoredMessage._field_defaults.get(name) for name in StoredMessage._fields)
    pick = itemgetter(
        *(
            read.index(name) if name in read else len(read) + position
            for position, name in enumerate(StoredMessage._fields)
        )
    )
    make = StoredMessage._make

    def build(rows: Sequence[Any]) -> list[StoredMessage]:
        return [make(pick((*row, *defaults))) for row in rows]

    return build


async def changed_since(db: Database, mailbox_id: int, modseq: int) -> list[FlagRow]:
    """Messages added or whose flags changed after `modseq` (the (mailbox_id, modseq) index)."""
    rows = await db.tuples(_CHANGED_SINCE, {"box": mailbox_id, "modseq": modseq})
    return [FlagRow._make(row) for row in rows]


_CHANGED_SINCE = (
    sa.select(message.c.uid, message.c.flags, message.c.keywords, message.c.modseq)
    .where(message.c.mailbox_id == sa.bindparam("box"), message.c.modseq > sa.bindparam("modseq"))
    .order_by(message.c.uid)
)


async def first_unseen(db: Database, mailbox_id: int) -> int | None:
    """The lowest UID of a message without \\Seen (SELECT's `[UNSEEN n]`, RFC 3501 §7.1)."""
    row = await db.first(_FIRST_UNSEEN, {"box": mailbox_id})
    return None if row is None else row[0]


_FIRST_UNSEEN = sa.select(sa.func.min(message.c.uid)).where(
    message.c.mailbox_id == sa.bindparam("box"), message.c.flags.op("&")(SEEN) == 0
)


async def deleted_uids(db: Database, mailbox_id: int) -> list[int]:
    """The UIDs of the messages marked \\Deleted, ascending (what EXPUNGE and CLOSE remove)."""
    rows = await db.tuples(_DELETED_UIDS, {"box": mailbox_id})
    return [row[0] for row in rows]


_DELETED_UIDS = (
    sa.select(message.c.uid)
    .where(message.c.mailbox_id == sa.bindparam("box"), message.c.flags.op("&")(DELETED) != 0)
    .order_by(message.c.uid)
)


async def uids_and_sizes(db: Database, mailbox_id: int) -> tuple[list[int], list[int]]:
    """Every message's UID and size, ascending by UID: a POP3 session's numbered list."""
    uids: list[int] = []
    sizes: list[int] = []
    async with db.read() as conn:
        query = (
            sa.select(message.c.uid, message.c.size)
            .where(message.c.mailbox_id == mailbox_id)
            .order_by(message.c.uid)
        )
        for uid, size in await conn.execute(query):
            uids.append(uid)
            sizes.append(size)
    return uids, sizes
