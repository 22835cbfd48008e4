"""What the webmail reads of stored messages beyond a folder's list (`mailstore.MailStore.messages`):
one message opened to read or to report, and a folder read through in UID order to export it.

Every read is on the (mailbox_id, uid) index; the rows are typed, so no table of `schema` reaches
the pages. The message's bytes stay in the blob store (`blobs`): a row names them by `blob_hash`,
with the headers we added at delivery in `prefix`, served before them as IMAP does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.mail.structure import Node
from hopthu.store import reading
from hopthu.store.db import Database
from hopthu.store.schema import message


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the reading and reporting pages see it."""

    uid: int
    flags: int
    internal_date: dt.datetime
    size: int
    subject: str
    sender: str
    sent_at: dt.datetime | None
    envelope: dict[str, Any]
    structure: Node
    blob_hash: str
    prefix: bytes | None  # our delivery headers (Received, Authentication-Results)


_STORED = (
    message.c.flags,
    message.c.internal_date,
    message.c.size,
    message.c.subject,
    message.c.sender,
    message.c.sent_at,
    message.c.envelope,
    message.c.structure,
    message.c.blob_hash,
    message.c.prefix,
)


async def stored(db: Database, mailbox_id: int, uids: Sequence[int]) -> list[StoredMessage]:
    """The messages of the mailbox with these UIDs (sorted, distinct), ascending; absent ones left out."""
    return [StoredMessage(*row) for row in await reading.rows(db, mailbox_id, uids, _STORED)]


async def stored_one(db: Database, mailbox_id: int, uid: int) -> StoredMessage | None:
    found = await stored(db, mailbox_id, [uid])
    return found[0] if found else None


@dataclass(frozen=True, slots=True)
class ExportedMessage:
    """What an export writes of a message besides its bytes: the mbox `From ` line and status,
    the .eml file's name and time."""

    uid: int
    prefix: bytes | None
    flags: int
    internal_date: dt.datetime
    size: int
    envelope: dict[str, Any]
    blob_hash: str


_EXPORTED = (
    message.c.uid,
    message.c.prefix,
    message.c.flags,
    message.c.internal_date,
    message.c.size,
    message.c.envelope,
    message.c.blob_hash,
)


async def after_uid(db: Database, mailbox_id: int, last: int, limit: int) -> list[ExportedMessage]:
    """Up to `limit` messages of the mailbox whose UID is above `last`, ascending: a folder read a
    batch at a time, so one that changes meanwhile is neither repeated nor stopped."""
    rows = await db.all(
        sa.select(*_EXPORTED)
        .where(message.c.mailbox_id == mailbox_id, message.c.uid > last)
        .order_by(message.c.uid)
        .limit(limit)
    )
    return [ExportedMessage(**row._mapping) for row in rows]
