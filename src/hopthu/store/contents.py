"""Reading a mail store's messages whole, for the rooms that handle mailboxes as a unit: retention
purging every message of a mailbox (R6.3, R6.5), and restoring a mailbox from a backup's copy of the
database (R9.2). Typed rows; no message is changed here.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import message


class StoredMessage(NamedTuple):
    """What a message is made of in the store: its UID, the headers added at delivery (`prefix`), the
    body's digest, its flags and keywords and its internal date."""

    uid: int
    prefix: bytes | None
    blob_hash: str
    flags: int
    keywords: str | None
    internal_date: dt.datetime


async def first_uids(db: Database, mailbox_id: int, limit: int = 1000) -> list[int]:
    """Up to `limit` UIDs of the mailbox's messages (a purge expunges them batch by batch)."""
    statement = sa.select(message.c.uid).where(message.c.mailbox_id == mailbox_id).limit(limit)
    return [uid for (uid,) in await db.all(statement)]


async def message_count(db: Database) -> int:
    """How many messages the store holds, in every mailbox."""
    return int((await db.all(sa.select(sa.func.count()).select_from(message)))[0][0])


async def stored_messages(db: Database, mailbox_id: int) -> list[StoredMessage]:
    """Every message of the mailbox in UID order."""
    rows = await db.all(
        sa.select(
            message.c.uid,
            message.c.prefix,
            message.c.blob_hash,
            message.c.flags,
            message.c.keywords,
            message.c.internal_date,
        )
        .where(message.c.mailbox_id == mailbox_id)
        .order_by(message.c.uid)
    )
    return [StoredMessage._make(row) for row in rows]
