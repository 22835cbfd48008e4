"""Searching a mailbox: a criteria tree (`store.types.Criterion`) compiled to one indexed query.

The protocol decides what its keys mean and which of them the database can answer exactly (IMAP
SEARCH, RFC 9051 §6.4.4, in `imap.search`); here they become SQL over the message table, always
within one mailbox on its (mailbox_id, uid) index, so "UNSEEN SINCE 1-Mar-2026" on a 50,000-message
mailbox is one query. Text criteria look in the folded search text kept at delivery.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from hopthu.store.db import Database
from hopthu.store.reading import stored_messages
from hopthu.store.schema import mailbox, message
from hopthu.store.types import (
    Always,
    Criterion,
    Each,
    Either,
    HasFlag,
    HasKeyword,
    InPeriod,
    MessageField,
    ModseqFrom,
    Negation,
    SizeBeyond,
    StoredMessage,
    TextHas,
    UidRuns,
)


def condition(criterion: Criterion) -> sa.ColumnElement[bool]:
    """The SQL form of `criterion` over the message table."""
    match criterion:
        case Always(value):
            return sa.true() if value else sa.false()
        case HasFlag(bit, wanted):
            test = message.c.flags.op("&")(bit)
            return test != 0 if wanted else test == 0
        case HasKeyword(name, wanted):
            padded = sa.func.upper(" " + sa.func.coalesce(message.c.keywords, "") + " ")
            found = padded.contains(f" {name} ", autoescape=True)
            return found if wanted else sa.not_(found)
        case InPeriod(date, since, before):
            column = (
                message.c.internal_date
                if date == "internal"
                else sa.func.coalesce(message.c.sent_at, message.c.internal_date)
            )
            if since is None:
                assert before is not None
                return column < before
            if before is None:
                return column >= since
            return sa.and_(column >= since, column < before)
        case SizeBeyond(size, larger):
            return message.c.size > size if larger else message.c.size < size
        case UidRuns(runs):
            return sa.or_(sa.false(), *(message.c.uid.between(lo, hi) for lo, hi in runs))
        case ModseqFrom(modseq):
            return message.c.modseq >= modseq
        case TextHas(needle):
            return message.c.search_text.contains(needle, autoescape=True)
        case Negation(inner):
            return sa.not_(condition(inner))
        case Either(criteria):
            return sa.or_(*(condition(each) for each in criteria))
        case Each(criteria):
            return sa.and_(*(condition(each) for each in criteria))
    raise AssertionError(criterion)


def _query(
    mailbox_id: int, through_uid: int, criteria: Sequence[Criterion], names: tuple[MessageField, ...]
) -> sa.Select[tuple[int, ...]]:
    return (
        sa.select(message.c.uid, *(message.c[name] for name in names))
        .where(
            message.c.mailbox_id == mailbox_id,
            message.c.uid <= through_uid,
            *(condition(criterion) for criterion in criteria),
        )
        .order_by(message.c.uid)
    )


async def search_uids(
    db: Database, mailbox_id: int, through_uid: int, criteria: Sequence[Criterion]
) -> list[int]:
    """The UIDs up to `through_uid` of the messages meeting every criterion, ascending."""
    return await db.integers(_query(mailbox_id, through_uid, criteria, ()))


class UidLists:
    """The text of the last few every-UID answers, by mailbox and the state they were read in.

    A webmail that opens an IMAP connection per page (Roundcube) asks `UID SEARCH ALL` of the same
    mailbox on every page; for 50,000 messages the answer is 290 KB. Every change to a mailbox
    raises its HIGHESTMODSEQ, so an answer kept under (UIDVALIDITY, HIGHESTMODSEQ) is never served
    for a state it was not read in. Bounded in entries and bytes, the oldest dropped first.
    """

    def __init__(self, entries: int = 64, budget: int = 16 * 2**20) -> None:
        self._entries = entries
        self._budget = budget
        self._held = 0
        self._found: dict[tuple[int, ...], bytes] = {}

    def get(self, key: tuple[int, ...]) -> bytes | None:
        text = self._found.pop(key, None)
        if text is not None:
            self._found[key] = text  # the most recent again
        return text

    def put(self, key: tuple[int, ...], text: bytes) -> None:
        if len(text) > self._budget or key in self._found:
            return
        self._found[key] = text
        self._held += len(text)
        while len(self._found) > self._entries or self._held > self._budget:
            self._held -= len(self._found.pop(next(iter(self._found))))


async def search_uid_text(
    db: Database,
    mailbox_id: int,
    through_uid: int,
    criteria: Sequence[Criterion],
    *,
    large: bool = False,
    cache: UidLists | None = None,
) -> bytes:
    """`search_uids` as the text of a SEARCH answer ("4 7 9"): the database joins the numbers,
    so 50,000 UIDs cost no Python object each. Every UID (no criteria but ALL) is kept in `cache`."""
    key: tuple[int, ...] | None = None
    if cache is not None and all(criterion == Always(True) for criterion in criteria):
        stamp = await db.first(_STAMP, {"box": mailbox_id})
        if stamp is not None:
            key = (mailbox_id, through_uid, *stamp)
            found = cache.get(key)
            if found is not None:
                return found
    ordered = _query(mailbox_id, through_uid, criteria, ()).subquery()
    if db.backend == "postgresql":
        separator = aggregate_order_by(sa.literal(" "), ordered.c.uid)
        joined = sa.func.string_agg(sa.cast(ordered.c.uid, sa.Text), separator)
    else:
        # The subquery's order is kept: SQLite does not flatten an ordered subquery into an aggregate.
        joined = sa.func.group_concat(ordered.c.uid, " ")
    rows = await db.all(sa.select(joined), large=large)
    text = rows[0][0].encode("ascii") if rows and rows[0][0] else b""
    if key is not None and cache is not None:
        # Read after the stamp: at worst a newer state's answer under an older stamp, which no
        # session asks for again (the stamp only grows).
        cache.put(key, text)
    return text


_STAMP = sa.select(mailbox.c.uidvalidity, mailbox.c.highestmodseq).where(mailbox.c.id == sa.bindparam("box"))


async def search(
    db: Database,
    mailbox_id: int,
    through_uid: int,
    criteria: Sequence[Criterion],
    fields: Collection[MessageField],
) -> list[StoredMessage]:
    """The messages up to `through_uid` meeting every criterion, ascending by UID, with `fields`
    read for the caller's own checks of what SQL cannot say."""
    names = tuple(sorted(fields))
    return stored_messages(names)(await db.all(_query(mailbox_id, through_uid, criteria, names)))
