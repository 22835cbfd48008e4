"""Finding people by name as they type it, without diacritics ("nguyen van minh" finds "Nguyễn Văn
Minh"), on both backends and with no database extension.

The database narrows with LIKE patterns in which every letter that may carry a mark matches any one
character; the rows it returns are then matched exactly on their folded words here. `suggest` is
the city directory as the webmail's address fields offer it while a person types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.policy import lifecycle
from hopthu.store.db import Database
from hopthu.store.schema import account, agency
from hopthu.text import fold

NARROWED = 300  # rows the database hands over for exact matching, at most

# A folded letter stands for itself or any letter folding to it: vowels (with their marks) and d (đ).
_ANY_MARK = str.maketrans({ch: "_" for ch in "aeiouyd"})


def query_words(query: str, most: int = 5) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(query))[:most]


def name_narrowing(column: sa.ColumnElement, words: list[str]) -> sa.ColumnElement[bool]:
    """A condition every name holding all `words` (in any marks) meets; some others meet it too."""
    return sa.and_(*(column.ilike(f"%{word.translate(_ANY_MARK)}%") for word in words))


def name_matches(name: str, words: list[str]) -> bool:
    """Whether every word starts one of the name's words, diacritics aside."""
    parts = fold(name).split()
    return all(any(part.startswith(word) for part in parts) for word in words)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A mailbox offered for an address field: its local part, its name and its agency's name."""

    local: str
    display_name: str
    kind: str  # "personal" | "agency"
    agency: str


async def suggest(db: Database, query: str, limit: int) -> list[Suggestion]:
    """People and agency mailboxes that receive mail, whose name (without diacritics) or address
    (by its prefix, the unique index) starts like `query`: the exact address first, then addresses
    by prefix, then names, earlier in the name before later ("noi vu" finds "Sở Nội vụ" before its
    staff)."""
    words = query_words(query)
    local = re.sub(r"[^a-z0-9.-]", "", fold(query).split("@")[0])
    if not words:
        return []
    named = name_narrowing(account.c.display_name, words)
    matches = sa.or_(named, account.c.local.like(f"{local}%")) if local else named
    statement = (
        sa.select(account.c.local, account.c.display_name, account.c.kind, agency.c.name)
        .select_from(account.join(agency, agency.c.id == account.c.agency_id))
        .where(
            account.c.status.in_([lifecycle.Status.ACTIVE.value, lifecycle.Status.LOCKED.value]),
            matches,
        )
        .limit(NARROWED)
    )
    ranked: list[tuple[int, int, str, Suggestion]] = []
    for row in await db.all(statement):
        found = Suggestion(row.local, row.display_name, row.kind, row.name)
        name_words = fold(found.display_name).split()
        by_name = name_matches(found.display_name, words)
        by_address = bool(local) and found.local.startswith(local)
        if by_name or by_address:
            rank = 0 if found.local == local else 1 if by_address else 2
            where = next(
                (n for n, part in enumerate(name_words) if part.startswith(words[0])), len(name_words)
            )
            ranked.append((rank, where, fold(found.display_name), found))
    ranked.sort(key=lambda item: item[:3])
    return [found for *_, found in ranked[:limit]]
