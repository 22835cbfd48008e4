"""The search text of bodies and its full-text index: what IMAP SEARCH TEXT/BODY (and the prefilter of
SUBJECT/FROM/TO/CC) and the webmail's search look in.

Layout: `body_text` (schema) holds one row per stored body, written by delivery in the transaction
that first stores the body, removed with the body's `blob` row (ON DELETE CASCADE). The index:

- SQLite: the FTS5 table `body_text_index` with the `trigram` tokenizer (SQLite 3.34+), its content
  read from `body_text` (nothing stored twice), kept in step by the triggers `body_text_ai`/`_ad`.
  A needle of three characters or more is one phrase of trigrams, which is exactly "contains this
  substring" (the text and the needle are folded alike: lower case, Vietnamese without marks).
- PostgreSQL: a GIN `pg_trgm` index on `body_text.text`, asked with `LIKE '%needle%'` (PostgreSQL
  rechecks every candidate, so the answer is exact).

A shorter needle has no trigram: it is looked for with `instr`/`strpos` in the texts of the messages
the rest of the query already chose (the mailbox's), never across every body.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from hopthu.mail.searchtext import MARK
from hopthu.store import dialect
from hopthu.store.schema import body_text, message

FTS_TABLE = "body_text_index"
PG_INDEX = "ix_body_text_text_trgm"
# Objects the migration makes that `schema.metadata` cannot describe (the schema comparison skips them).
UNDESCRIBED = frozenset(
    {
        FTS_TABLE,
        *(f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "docsize", "config", "content")),
        PG_INDEX,
    }
)
SHORTEST = 3  # a trigram

# The same statements as migration 0013 (kept here for databases made without migrations, in tests).
SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(text, content='body_text', content_rowid='id', "
    "tokenize='trigram', detail='full')",
    f"CREATE TRIGGER body_text_ai AFTER INSERT ON body_text BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.id, new.text); END",
    f"CREATE TRIGGER body_text_ad AFTER DELETE ON body_text BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.id, old.text); END",
)

_fts = sa.table(FTS_TABLE, sa.column("rowid"))


@functools.cache
def insert_texts(backend: str) -> Any:
    """Insert bodies' texts, skipping a body whose text is stored already, and return the (hash, id)
    of each row made (built once per backend: delivery runs it for every batch)."""
    insert = dialect.insert(backend, body_text).on_conflict_do_nothing(index_elements=[body_text.c.hash])
    return insert.returning(body_text.c.hash, body_text.c.id)


def matching_ids(backend: str, needle: str) -> sa.Select[tuple[int]]:
    """The `body_text` ids (the index's row ids) of the bodies whose text contains `needle` (at
    least `SHORTEST` characters), from the index."""
    if backend == "postgresql":
        return sa.select(body_text.c.id).where(body_text.c.text.like(f"%{_like_escaped(needle)}%"))
    phrase = '"' + needle.replace('"', '""') + '"'
    return sa.select(_fts.c.rowid).where(sa.literal_column(FTS_TABLE).op("MATCH")(phrase))


def narrows(needle: str) -> bool:
    """Whether every message holding `needle` in one of its header fields is among those the index
    finds for it: the search text holds those fields with white space runs made single, so a needle
    with a run of spaces (or none of three characters) could be in a field and not in the text."""
    return len(needle) >= SHORTEST and " ".join(needle.split()) == needle


def bodies_holding(backend: str, needle: str, cap: int) -> sa.Select[Any]:
    """How many bodies' texts contain `needle`, counted no further than `cap`: reading a common
    word's first `cap` matches costs well under a millisecond, its 50,000 tens of them."""
    return sa.select(sa.func.count()).select_from(matching_ids(backend, needle).limit(cap).subquery())


def has_text(backend: str, needle: str) -> sa.ColumnElement[bool]:
    """A condition over `message`: its body's search text contains `needle` (folded already).

    The index's answer meets the mailbox's messages on `message.body_id` and the (body_id,
    mailbox_id, uid) index: a word in every letter of a 50,000-message mailbox costs about the index's
    own reading, where joining by body hash read every message row."""
    if not needle:
        return sa.true()
    if len(needle) >= SHORTEST:
        return message.c.body_id.in_(matching_ids(backend, needle))
    found = sa.func.strpos if backend == "postgresql" else sa.func.instr
    return sa.exists().where(body_text.c.id == message.c.body_id, found(body_text.c.text, needle) > 0)


def in_body(backend: str, needle: str) -> sa.ColumnElement[bool]:
    """A condition over `message`: `needle` is found in its body, not only in its header. The search
    text holds the body's words, then `MARK`, then the header's (`mail.searchtext.build`), so the
    needle's first match lies before the mark (a text stored without a mark counts as body)."""
    text = body_text.c.text
    mark = dialect.position(text, MARK)
    return sa.exists().where(
        body_text.c.id == message.c.body_id,
        sa.or_(mark == 0, dialect.position(text, needle) < mark),
    )


def text_column() -> sa.Label[str]:
    """A message's search text as a column of a query over `message` (for checks made in Python)."""
    text = sa.select(body_text.c.text).where(body_text.c.id == message.c.body_id).scalar_subquery()
    return sa.func.coalesce(text, "").label("search_text")


def _like_escaped(needle: str) -> str:
    """`needle` literal inside a PostgreSQL LIKE pattern (whose default escape is the backslash)."""
    return needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
