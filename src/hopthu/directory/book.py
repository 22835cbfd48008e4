"""The city's address book: who may be written to, as the webmail's directory page and the CardDAV
address book show it.

Only mailboxes `policy.lifecycle.listed` allows are in it (active ones), people and agency mailboxes
alike, under the active agencies' tree (R1.1). Every query is bounded: the tree is the agencies
(a few hundred rows), a page of people is read in batches ordered by an index-friendly key and
resumed after the last row seen, and a search without diacritics narrows in SQL
(`finding.name_narrowing`) and matches exactly here, looking at no more than `SCAN_BUDGET` rows for
one page. Long reads run in the database driver's thread (`large=True`), never on the event loop.

`version` is the audit log's newest id: every change to an account or an agency writes an audit
event in the same transaction (`directory.audit`), so a book built at one version is the book until
that number moves.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory.finding import name_matches, name_narrowing, query_words
from hopthu.policy import lifecycle
from hopthu.store.db import Database
from hopthu.store.schema import account, agency, audit_event
from hopthu.text import fold

PAGE_SIZE = 50
BATCH = 200  # rows read per query while a search fills a page
SCAN_BUDGET = 4_000  # rows looked at for one page of a search before offering to go on
EXPORT_BATCH = 2_000  # rows read per query while the whole book is read (CardDAV)

LISTED = tuple(status.value for status in lifecycle.Status if lifecycle.listed(status))
_parent = agency.alias("parent_agency")


@dataclass(frozen=True, slots=True)
class BookAgency:
    """An active agency or sub-unit, with how many listed people it has itself."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    people: int


@dataclass(frozen=True, slots=True)
class Entry:
    """One listed mailbox: a person (with family, middle and given name, rank and job title) or an
    agency's."""

    id: int
    local: str
    kind: str  # "personal" | "agency"
    family: str
    middle: str
    given: str
    display_name: str
    rank: int
    job_title: str | None  # chức vụ, when the directory knows it
    agency_code: str
    agency_name: str
    parent_name: str | None  # the agency above a sub-unit
    created_at: dt.datetime
    changed_at: dt.datetime | None

    @property
    def name(self) -> str:
        """The person's own name (R4.4 without the agency), or the agency mailbox's name."""
        own = " ".join(part for part in (self.family, self.middle, self.given) if part)
        return own if self.kind == "personal" and own else self.display_name

    @property
    def revised_at(self) -> dt.datetime:
        """When the entry last changed that the record says: created, or its status changed."""
        return max(self.created_at, self.changed_at) if self.changed_at else self.created_at


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: list[Entry]
    next_after: int | None  # the id to go on after, when there may be more


_ENTRY = (
    sa.select(
        account.c.id,
        account.c.local,
        account.c.kind,
        account.c.family,
        account.c.middle,
        account.c.given,
        account.c.display_name,
        account.c.rank,
        account.c.job_title,
        agency.c.code,
        agency.c.name,
        _parent.c.name,
        account.c.created_at,
        account.c.status_changed_at,
    )
    .select_from(
        account.join(agency, agency.c.id == account.c.agency_id).outerjoin(
            _parent, _parent.c.id == agency.c.parent_id
        )
    )
    .where(account.c.status.in_(LISTED))
)


async def agencies(db: Database) -> list[BookAgency]:
    """Every active agency and sub-unit, with its listed people counted (one grouped read)."""
    counted = (
        sa.select(account.c.agency_id, sa.func.count().label("people"))
        .where(account.c.status.in_(LISTED), account.c.kind == "personal")
        .group_by(account.c.agency_id)
        .subquery()
    )
    rows = await db.all(
        sa.select(
            agency.c.id,
            agency.c.code,
            agency.c.name,
            agency.c.kind,
            agency.c.parent_id,
            sa.func.coalesce(counted.c.people, 0),
        )
        .select_from(agency.outerjoin(counted, counted.c.agency_id == agency.c.id))
        .where(agency.c.status == "active"),
        large=True,
    )
    return [BookAgency(*row) for row in rows]


def subtree(found: Iterable[BookAgency], root: int) -> frozenset[int]:
    """The ids of `root` and every active sub-unit below it."""
    children: dict[int, list[int]] = {}
    for node in found:
        if node.parent_id is not None:
            children.setdefault(node.parent_id, []).append(node.id)
    seen, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return frozenset(seen)


async def agency_mailboxes(db: Database, agency_ids: frozenset[int]) -> list[Entry]:
    """The listed agency (shared) mailboxes of these agencies, by name: a handful per agency."""
    rows = await db.all(
        _ENTRY.where(account.c.kind == "agency", account.c.agency_id.in_(sorted(agency_ids)))
        .order_by(account.c.display_name, account.c.id)
        .limit(PAGE_SIZE * 4)
    )
    return [Entry(*row) for row in rows]


def _after(rank: int, name: str, account_id: int) -> sa.ColumnElement[bool]:
    """Rows after (rank, name, id) in the book's order: higher rank first, then name, then id."""
    return sa.or_(
        account.c.rank < rank,
        sa.and_(
            account.c.rank == rank,
            sa.or_(
                account.c.display_name > name,
                sa.and_(account.c.display_name == name, account.c.id > account_id),
            ),
        ),
    )


def _matches(entry: Entry, words: list[str], local: str) -> bool:
    return name_matches(entry.display_name, words) or (bool(local) and entry.local.startswith(local))


async def people(
    db: Database,
    *,
    agency_ids: frozenset[int] | None = None,
    query: str = "",
    after: int | None = None,
    size: int | None = None,
) -> EntryPage:
    """A page of the book in its order (leaders first, then by name): the people of `agency_ids`
    when no `query` is given; else everyone (people and agency mailboxes, within `agency_ids` when
    given) whose name words start with the query's words, diacritics aside ("nguyen van minh"
    finds "Nguyễn Văn Minh"), or whose address starts with it. `after`: the id of the last entry
    of the page before. An empty query with no agency is no page: the book is browsed by agency."""
    size = size or PAGE_SIZE
    words = query_words(query)
    local = re.sub(r"[^a-z0-9.-]", "", fold(query.strip()).split("@")[0])
    if not words and agency_ids is None:
        return EntryPage([], None)
    statement = _ENTRY
    if agency_ids is not None:
        statement = statement.where(account.c.agency_id.in_(sorted(agency_ids)))
    if words:
        named = name_narrowing(account.c.display_name, words)
        statement = statement.where(sa.or_(named, account.c.local.like(f"{local}%")) if local else named)
    else:
        statement = statement.where(account.c.kind == "personal")
    statement = statement.order_by(account.c.rank.desc(), account.c.display_name, account.c.id)
    position: tuple[int, str, int] | None = None
    if after is not None:
        mark = await db.all(sa.select(account.c.rank, account.c.display_name).where(account.c.id == after))
        if mark:
            position = (int(mark[0][0]), str(mark[0][1]), after)
    found: list[Entry] = []
    scanned = 0
    while True:
        step = statement if position is None else statement.where(_after(*position))
        rows = await db.all(step.limit(BATCH if words else size + 1), large=True)
        batch = [Entry(*row) for row in rows]
        for number, entry in enumerate(batch):
            scanned += 1
            if words and not _matches(entry, words, local):
                position = (entry.rank, entry.display_name, entry.id)
                if scanned >= SCAN_BUDGET and number + 1 < len(batch):
                    return EntryPage(found, entry.id)  # looked long enough: the person may go on
                continue
            if len(found) == size:
                return EntryPage(found, found[-1].id)
            found.append(entry)
            position = (entry.rank, entry.display_name, entry.id)
        if len(batch) < (BATCH if words else size + 1):
            return EntryPage(found, None)
        if scanned >= SCAN_BUDGET:
            return EntryPage(found, position[2] if position else None)


async def everyone_after(db: Database, after: int, limit: int = EXPORT_BATCH) -> list[Entry]:
    """Listed mailboxes with an id above `after`, by id: the whole book, read a batch at a time."""
    rows = await db.all(
        _ENTRY.where(account.c.id > after).order_by(account.c.id).limit(limit),
        large=True,
    )
    return [Entry(*row) for row in rows]


async def version(db: Database) -> int:
    """The audit log's newest id: it moves with every change to the directory (0 for none)."""
    rows = await db.all(sa.select(sa.func.max(audit_event.c.id)))
    return int(rows[0][0] or 0) if rows else 0
