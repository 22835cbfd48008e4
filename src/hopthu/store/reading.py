"""Reading messages a mailbox at a time, for IMAP sessions and the webmail: only indexed queries.

A session names messages by UID; a set of UIDs becomes a few `uid BETWEEN lo AND hi` ranges (UIDs
are mostly consecutive), so even "1:*" of a 50,000-message mailbox is one range read on the
(mailbox_id, uid) index, never a scan of other mailboxes.
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
from hopthu.store.types import FlagRow, MailboxState, MessageField, StoredMessage

RUNS_PER_QUERY = 400


def uid_runs(uids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted, distinct UIDs as inclusive runs of consecutive numbers."""
    runs: list[tuple[int, int]] = []
    for uid in uids:
        if runs and uid == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], uid)
        elif not runs or uid > runs[-1][1]:
            runs.append((uid, uid))
    return runs


def uid_conditions(uids: Sequence[int]) -> Iterator[sa.ColumnElement[bool]]:
    """WHERE clauses over `message.uid` that together select exactly `uids` (sorted, distinct)."""
    runs = uid_runs(uids)
    for start in range(0, len(runs), RUNS_PER_QUERY):
        chunk = runs[start : start + RUNS_PER_QUERY]
        yield sa.or_(
            *(message.c.uid == lo if lo == hi else message.c.uid.between(lo, hi) for lo, hi in chunk)
        )


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


async def rows(
    db: Database, mailbox_id: int, wanted: Sequence[int], columns: Sequence[sa.ColumnElement[Any]]
) -> list[Any]:
    """The given columns (plus uid first) of the messages with these UIDs, ascending by UID: the
    webmail's older form of `messages`, which gives typed rows."""
    found: list[Any] = []
    for condition in uid_conditions(wanted):
        found.extend(
            await db.all(
                sa.select(message.c.uid, *columns)
                .where(message.c.mailbox_id == mailbox_id, condition)
                .order_by(message.c.uid)
            )
        )
    return found


async def messages(
    db: Database, mailbox_id: int, wanted: Sequence[int], fields: Collection[MessageField]
) -> list[StoredMessage]:
    """The messages with these UIDs (sorted, distinct), ascending, with `fields` read (FETCH)."""
    names = tuple(sorted(fields))
    columns = [message.c[name] for name in names]
    found: list[StoredMessage] = []
    make = stored_messages(names)
    for condition in uid_conditions(wanted):
        found.extend(
            make(
                await db.all(
                    sa.select(message.c.uid, *columns)
                    .where(message.c.mailbox_id == mailbox_id, condition)
                    .order_by(message.c.uid)
                )
            )
        )
    return found


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
    rows = await db.all(
        sa.select(message.c.uid, message.c.flags, message.c.keywords, message.c.modseq)
        .where(message.c.mailbox_id == mailbox_id, message.c.modseq > modseq)
        .order_by(message.c.uid)
    )
    return [FlagRow._make(row) for row in rows]


async def first_unseen(db: Database, mailbox_id: int) -> int | None:
    """The lowest UID of a message without \\Seen (SELECT's `[UNSEEN n]`, RFC 3501 §7.1)."""
    row = await db.first(_FIRST_UNSEEN, {"box": mailbox_id})
    return None if row is None else row[0]


_FIRST_UNSEEN = sa.select(sa.func.min(message.c.uid)).where(
    message.c.mailbox_id == sa.bindparam("box"), message.c.flags.op("&")(SEEN) == 0
)


async def deleted_uids(db: Database, mailbox_id: int) -> list[int]:
    """The UIDs of the messages marked \\Deleted, ascending (what EXPUNGE and CLOSE remove)."""
    rows = await db.all(
        sa.select(message.c.uid)
        .where(message.c.mailbox_id == mailbox_id, message.c.flags.op("&")(DELETED) != 0)
        .order_by(message.c.uid)
    )
    return [row[0] for row in rows]


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
