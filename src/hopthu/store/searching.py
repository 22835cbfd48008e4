"""Searching a mailbox: a criteria tree (`store.types.Criterion`) compiled to one indexed query.

The protocol decides what its keys mean and which of them the database can answer exactly (IMAP
SEARCH, RFC 9051 §6.4.4, in `imap.search`); here they become SQL over the message table, always
within one mailbox on its (mailbox_id, uid) index, so "UNSEEN SINCE 1-Mar-2026" on a 50,000-message
mailbox is one query. Text criteria look in the full-text index of the bodies' search text
(`store.textindex`): the mailbox's messages are kept when their body is among those the index finds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by

from hopthu.store import dialect
from hopthu.store.db import Database
from hopthu.store.reading import stored_messages
from hopthu.store.schema import mailbox, message
from hopthu.store.textindex import SHORTEST, bodies_holding, has_text, in_body, narrows, text_column
from hopthu.store.types import (
    Always,
    Criterion,
    Each,
    Either,
    FieldHas,
    HasFlag,
    HasKeyword,
    InPeriod,
    MessageField,
    ModseqFrom,
    Negation,
    SentDays,
    SizeBeyond,
    StoredMessage,
    TextHas,
    UidRuns,
)


def condition(criterion: Criterion, backend: str) -> sa.ColumnElement[bool]:
    """The SQL form of `criterion` over the message table, for `backend` (the text index differs)."""
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
        case SentDays(since, before):
            day = message.c.sent_day
            bounds = [day >= since] if since is not None else []
            bounds += [day < before] if before is not None else []
            return sa.and_(day.is_not(None), *bounds)  # never NULL: NOT of it stays exact
        case SizeBeyond(size, larger):
            return message.c.size > size if larger else message.c.size < size
        case UidRuns(runs):
            return sa.or_(sa.false(), *(message.c.uid.between(lo, hi) for lo, hi in runs))
        case ModseqFrom(modseq):
            return message.c.modseq >= modseq
        case TextHas(needle, body_only):
            found = has_text(backend, needle)
            return sa.and_(found, in_body(backend, needle)) if body_only else found
        case FieldHas(field, needle):
            return dialect.position(_FOLDED[field], needle) > 0
        case Negation(inner):
            return sa.not_(condition(inner, backend))
        case Either(criteria):
            return sa.or_(*(condition(each, backend) for each in criteria))
        case Each(criteria):
            return sa.and_(*(condition(each, backend) for each in criteria))
    raise AssertionError(criterion)


# Each field as folded at delivery; each is read from an index that holds it (`schema.message`).
_FOLDED = {
    "subject": sa.func.coalesce(message.c.folded_subject, message.c.sort_subject),
    "from": sa.func.coalesce(message.c.folded_from, ""),
}


def _query(
    backend: str,
    mailbox_id: int,
    through_uid: int,
    criteria: Sequence[Criterion],
    names: tuple[MessageField, ...],
) -> sa.Select[tuple[int, ...]]:
    columns = (text_column() if name == "search_text" else message.c[name] for name in names)
    # SQLite's planner takes the (mailbox_id, uid) index for the UID bound and the order whenever
    # it has no statistics saying better (a new installation has none), and then reads every row
    # of the mailbox (2 KB each) to test the others: 40 ms at 50,000 messages for a word in one
    # letter. Where a conjunct has an index of its own (the full-text index's bodies, the index
    # holding a folded field), the UID is named through a unary plus no index serves, and that index
    # is read instead (0.3 ms for the rare word), the answer sorted after.
    own_index = backend == "sqlite" and _has_own_index(criteria)
    uid = dialect.unindexed(message.c.uid) if own_index else message.c.uid
    return (
        sa.select(message.c.uid, *columns)
        .where(
            message.c.mailbox_id == mailbox_id,
            uid <= through_uid,
            *(condition(criterion, backend) for criterion in criteria),
        )
        .order_by(uid)
    )


def _has_own_index(criteria: Sequence[Criterion]) -> bool:
    for criterion in criteria:
        match criterion:
            case TextHas(needle) if len(needle) >= SHORTEST:
                return True
            case FieldHas():
                return True
            case Each(parts) if _has_own_index(parts):
                return True
    return False


async def search_uids(
    db: Database, mailbox_id: int, through_uid: int, criteria: Sequence[Criterion]
) -> list[int]:
    """The UIDs up to `through_uid` of the messages meeting every criterion, ascending."""
    criteria = await _narrowed(db, mailbox_id, criteria)
    query = _query(db.backend, mailbox_id, through_uid, criteria, ())
    if db.backend == "sqlite" and _reads_text(criteria):
        return [row[0] for row in await _off_the_loop(db, query)]
    return await db.integers(query)


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
    criteria = await _narrowed(db, mailbox_id, criteria)
    ordered = _query(db.backend, mailbox_id, through_uid, criteria, ()).subquery()
    if db.backend == "postgresql":
        separator = aggregate_order_by(sa.literal(" "), ordered.c.uid)
        joined = sa.func.string_agg(sa.cast(ordered.c.uid, sa.Text), separator)
    else:
        # The subquery's order is kept: SQLite does not flatten an ordered subquery into an aggregate.
        joined = sa.func.group_concat(ordered.c.uid, " ")
    # SQLite answers a text search or a large mailbox off the loop (`Database.all`'s `large`).
    rows = await db.all(sa.select(joined), large=large or (db.backend == "sqlite" and _reads_text(criteria)))
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
    criteria = await _narrowed(db, mailbox_id, criteria)
    query = _query(db.backend, mailbox_id, through_uid, criteria, names)
    heavy = db.backend == "sqlite" and (_reads_text(criteria) or "search_text" in names)
    rows = await (_off_the_loop(db, query) if heavy else db.all(query))
    build = stored_messages(names)
    # A common word's candidates may be a million rows: made into messages beside the loop, not on it.
    return await asyncio.to_thread(build, rows) if len(rows) > _BUILT_ON_LOOP else build(rows)


_BUILT_ON_LOOP = 5000
NARROWING = 1000  # bodies: a field's word found in fewer is looked for among their messages only
READ_PER_BODY = 20  # mailbox entries read in the time the text index takes per body it answers


async def _narrowed(db: Database, mailbox_id: int, criteria: Sequence[Criterion]) -> list[Criterion]:
    """`criteria`, with each subject or From word the full-text index holds in few bodies looked for
    only among their messages (the same answer: these fields' words are in the body's search text).

    A subject or From search reads the mailbox's folded fields from the index that sorts by them, a
    few milliseconds at 50,000 messages whatever the word; a rare word's messages, found by the
    full-text index, cost less still, and keep a search of a million-message mailbox to
    milliseconds. A common word would cost the index its whole answer (tens of milliseconds at
    50,000) to narrow nothing, so the index is first asked whether the word is rare: whether it
    holds the word in fewer bodies than `NARROWING`, or than a twentieth of the mailbox's messages,
    counting no further."""
    needles = {needle for needle in _field_needles(criteria) if narrows(needle)}
    if not needles:
        return list(criteria)
    size = await db.first(_SIZE, {"box": mailbox_id})
    cap = max(NARROWING, int((size[0] if size else 0) / READ_PER_BODY))
    rare = await rare_needles(db, needles, cap)
    return [_narrow(criterion, rare) for criterion in criteria] if rare else list(criteria)


_SIZE = sa.select(mailbox.c.message_count).where(mailbox.c.id == sa.bindparam("box"))


async def rare_needles(db: Database, needles: Collection[str], cap: int = NARROWING) -> set[str]:
    """Those of `needles` the full-text index holds in fewer than `cap` bodies: worth reading the
    index's answer for, where a common one is better found by reading the mailbox."""
    rare = set()
    for needle in needles:
        if len(needle) < SHORTEST:
            continue
        query = bodies_holding(db.backend, needle, cap)
        # A phrase of common trigrams can take the index a while: SQLite answers it off the loop.
        rows = await (_off_the_loop(db, query) if db.backend == "sqlite" else db.all(query))
        if rows[0][0] < cap:
            rare.add(needle)
    return rare


def _field_needles(criteria: Sequence[Criterion]) -> Iterator[str]:
    for criterion in criteria:
        match criterion:
            case FieldHas(_field, needle):
                yield needle
            case Negation(inner):
                yield from _field_needles([inner])
            case Either(parts) | Each(parts):
                yield from _field_needles(parts)


def _narrow(criterion: Criterion, rare: set[str]) -> Criterion:
    match criterion:
        case FieldHas(_field, needle) if needle in rare:
            return Each((TextHas(needle), criterion))
        case Negation(inner):
            return Negation(_narrow(inner, rare))
        case Either(parts):
            return Either(tuple(_narrow(part, rare) for part in parts))
        case Each(parts):
            return Each(tuple(_narrow(part, rare) for part in parts))
    return criterion


def _reads_text(criteria: Sequence[Criterion]) -> bool:
    """Whether the full-text index is asked or subjects are read: a common word can match most of
    the mailbox."""
    for criterion in criteria:
        match criterion:
            case TextHas() | FieldHas():
                return True
            case Negation(inner):
                if _reads_text([inner]):
                    return True
            case Either(parts) | Each(parts):
                if _reads_text(parts):
                    return True
    return False


async def _off_the_loop(db: Database, query: sa.Select[tuple[int, ...]]) -> list[Any]:
    """A query that may read many index pages, on a connection of its own off the event loop's
    thread: SQLite answers `db.all`/`db.integers` on the loop, right for index lookups only
    (PostgreSQL's are awaited, the loop free meanwhile)."""
    async with db.read() as conn:
        return list((await conn.execute(query)).all())
