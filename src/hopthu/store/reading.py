"""Reading messages a mailbox at a time, for IMAP sessions and the webmail: only indexed queries.

A session names messages by UID; a set of UIDs becomes a few `uid BETWEEN lo AND hi` ranges (UIDs
are mostly consecutive), so even "1:*" of a 50,000-message mailbox is one range read on the
(mailbox_id, uid) index, never a scan of other mailboxes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import mailbox, message

RUNS_PER_QUERY = 400


@dataclass(frozen=True, slots=True)
class MailboxState:
    """What a session compares with what it last saw, to know whether anything changed."""

    uidvalidity: int
    uidnext: int
    highestmodseq: int
    message_count: int
    unseen_count: int


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
).where(mailbox.c.id == sa.bindparam("box"))


async def uids(db: Database, mailbox_id: int) -> list[int]:
    """Every UID of a mailbox, ascending: a session's map from sequence numbers to UIDs."""
    return await db.integers(_UIDS, {"box": mailbox_id})


_UIDS = sa.select(message.c.uid).where(message.c.mailbox_id == sa.bindparam("box")).order_by(message.c.uid)


async def rows(
    db: Database, mailbox_id: int, wanted: Sequence[int], columns: Sequence[sa.ColumnElement[Any]]
) -> list[Any]:
    """The given columns (plus uid first) of the messages with these UIDs, ascending by UID."""
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


async def changed_since(
    db: Database, mailbox_id: int, modseq: int, columns: Sequence[sa.ColumnElement[Any]]
) -> list[Any]:
    """Messages added or whose flags changed after `modseq` (the (mailbox_id, modseq) index)."""
    return await db.all(
        sa.select(message.c.uid, *columns)
        .where(message.c.mailbox_id == mailbox_id, message.c.modseq > modseq)
        .order_by(message.c.uid)
    )
