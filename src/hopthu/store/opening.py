"""One stored message opened whole, as the webmail writes from it: what was stored of it at delivery
(its ENVELOPE and BODYSTRUCTURE as JSON, its decoded subject and sender) and where its bytes are in
the blob store. Read on the (mailbox_id, uid) unique index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import message


@dataclass(frozen=True, slots=True)
class StoredMessage:
    uid: int
    flags: int
    size: int
    internal_date: dt.datetime
    sent_at: dt.datetime | None
    subject: str
    sender: str
    envelope: dict[str, Any]  # `mail.envelope` as stored (JSON)
    structure: dict[str, Any]  # `mail.structure.Node` as stored (JSON)
    blob_hash: str


_SELECT = sa.select(
    message.c.uid,
    message.c.flags,
    message.c.size,
    message.c.internal_date,
    message.c.sent_at,
    message.c.subject,
    message.c.sender,
    message.c.envelope,
    message.c.structure,
    message.c.blob_hash,
)


async def stored_message(db: Database, mailbox_id: int, uid: int) -> StoredMessage | None:
    """The message with this UID in this mailbox, or None when it is gone."""
    rows = await db.all(_SELECT.where(message.c.mailbox_id == mailbox_id, message.c.uid == uid))
    if not rows:
        return None
    row = rows[0]
    return StoredMessage(
        row.uid,
        row.flags,
        row.size,
        row.internal_date,
        row.sent_at,
        row.subject,
        row.sender,
        row.envelope or {},
        row.structure,
        row.blob_hash,
    )
