"""What the webmail reads of stored messages beyond a folder's list (`mailstore.MailStore.messages`):
one message opened to read or to report, the other messages of its conversation, and a folder read
through in UID order to export it.

Every read is on the (mailbox_id, uid) index; the rows are typed, so no table of `schema` reaches
the pages. The message's bytes stay in the blob store (`blobs`): a row names them by `blob_hash`,
with the headers we added at delivery in `prefix`, served before them as IMAP does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.mail.structure import Node
from hopthu.store import reading
from hopthu.store.blobs import BlobStore
from hopthu.store.db import Database
from hopthu.store.dialect import epoch_seconds
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


EXPORT_BATCH = 100  # rows read per query while exporting
INLINE_READ = 256 * 1024  # larger bodies are read in a thread, off the event loop


async def with_bodies(
    db: Database, blobs: BlobStore, mailbox_id: int
) -> AsyncIterator[tuple[ExportedMessage, bytes]]:
    """Every message of the mailbox, oldest first: (row, bytes as IMAP serves them, our delivery
    headers first), one body in memory at a time. A message removed meanwhile is left out."""
    last = 0
    while True:
        rows = await after_uid(db, mailbox_id, last, EXPORT_BATCH)
        for row in rows:
            try:
                if row.size <= INLINE_READ:
                    body = blobs.get(row.blob_hash)
                else:
                    body = await asyncio.to_thread(blobs.get, row.blob_hash)
            except FileNotFoundError:
                continue
            yield row, (row.prefix or b"") + body
        if len(rows) < EXPORT_BATCH:
            return
        last = rows[-1].uid


# Conversations (RFC 5256 §2.1 THREAD=ORDEREDSUBJECT, narrowed): messages share a conversation when
# their base subjects (`sort_subject`, kept at delivery by `mail.sortkeys.subject_key`) are equal and
# they are chained by arrivals at most `CONVERSATION_GAP` apart or by In-Reply-To naming another's
# Message-ID (both in the stored envelope; References is not kept, so it is not used). A subject
# alone would join every weekly "Báo cáo tuần" of years into one.
CONVERSATION_GAP = dt.timedelta(days=90)
CONVERSATION_SHOWN = 50  # messages a page shows at most; the rest are only counted
CANDIDATES = 100  # per folder, the newest messages of the base subject considered (twice those shown)
CONVERSATION_FOLDERS = 100  # folders searched at most (a person has a few dozen)
_FOLDERS_PER_STATEMENT = 10
_MESSAGE_IDS = re.compile(r"<[^<>\s]{1,500}>")


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    """One message of a conversation as the reading page lists it."""

    mailbox_id: int
    uid: int
    flags: int
    internal_date: dt.datetime
    sent_at: dt.datetime | None
    sender: str
    subject: str
    preview: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """The messages shown, oldest first, the opened one among them; `earlier` and `later` count
    those of the conversation left out before and after them."""

    messages: list[ConversationMessage]
    opened: int  # the opened message's index in `messages`
    earlier: int
    later: int

    @property
    def total(self) -> int:
        return len(self.messages) + self.earlier + self.later


_KEY = sa.select(message.c.sort_subject).where(
    message.c.mailbox_id == sa.bindparam("box"), message.c.uid == sa.bindparam("uid")
)
# What grouping needs of each candidate, kept small: hundreds are read for a page, and a datetime
# made per row cost more than the query (the arrival is read as a number of seconds instead); of the
# envelope only the two ids, taken out by the database (json_extract, ->>).
_CANDIDATE = (
    message.c.mailbox_id,
    message.c.uid,
    epoch_seconds(message.c.internal_date).label("seconds"),
    message.c.envelope["message_id"].as_string().label("message_id"),
    message.c.envelope["in_reply_to"].as_string().label("in_reply_to"),
)
_LISTED = (
    message.c.uid,
    message.c.flags,
    message.c.internal_date,
    message.c.sent_at,
    message.c.sender,
    message.c.subject,
    message.c.preview,
)
_GAP = int(CONVERSATION_GAP.total_seconds())


@functools.cache
def _candidates(folders: int) -> sa.CompoundSelect[Any] | sa.Select[Any]:
    """The newest `CANDIDATES` messages of base subject `key` in each of `folders` mailboxes (bound
    as box0, box1, ...), each a walk of the (mailbox_id, sort_subject, uid) index from its end; one
    statement per count of folders, so its compiled form is kept."""
    parts = []
    for n in range(folders):
        newest = (
            sa.select(*_CANDIDATE)
            .where(
                message.c.mailbox_id == sa.bindparam(f"box{n}"), message.c.sort_subject == sa.bindparam("key")
            )
            .order_by(message.c.uid.desc())
            .limit(CANDIDATES)
            .subquery()
        )
        parts.append(sa.select(newest))
    return parts[0] if folders == 1 else sa.union_all(*parts)


_OPENED = sa.select(*_CANDIDATE).where(
    message.c.mailbox_id == sa.bindparam("box"), message.c.uid == sa.bindparam("uid")
)


async def conversation(
    db: Database, mailbox_ids: Sequence[int], mailbox_id: int, uid: int, *, shown: int = CONVERSATION_SHOWN
) -> Conversation | None:
    """The conversation of message `uid` of `mailbox_id` among the messages of `mailbox_ids` (the
    caller's choice of folders: the owner's, without Trash and Junk), or None when the message is
    gone or has no base subject (an empty subject groups nothing). A message kept in two folders
    (one sent to oneself: Sent and INBOX) is listed once, the opened copy first."""
    key = await db.first(_KEY, {"box": mailbox_id, "uid": uid})
    if key is None or not key[0]:
        return None
    boxes = list(dict.fromkeys([mailbox_id, *mailbox_ids]))[:CONVERSATION_FOLDERS]
    rows: list[Any] = []
    for start in range(0, len(boxes), _FOLDERS_PER_STATEMENT):
        chunk = boxes[start : start + _FOLDERS_PER_STATEMENT]
        params: dict[str, Any] = {f"box{n}": box for n, box in enumerate(chunk)}
        params["key"] = key[0]
        rows.extend(await db.all(_candidates(len(chunk)), params))
    if not any(row.mailbox_id == mailbox_id and row.uid == uid for row in rows):
        rows.extend(await db.all(_OPENED, {"box": mailbox_id, "uid": uid}))  # older than the newest read
    grouped = _group(rows, mailbox_id, uid, shown)
    if grouped is None:
        return None
    window, earlier, later = grouped
    listed: dict[tuple[int, int], ConversationMessage] = {}
    by_box: dict[int, list[int]] = {}
    for box, number in window:
        by_box.setdefault(box, []).append(number)
    for box, numbers in by_box.items():  # the shown ones only: at most `shown` rows
        for row in await reading.rows(db, box, sorted(numbers), _LISTED[1:]):
            listed[box, row[0]] = ConversationMessage(box, *row)
    found = [listed[place] for place in window if place in listed]  # one removed meanwhile is left out
    at = next((i for i, m in enumerate(found) if (m.mailbox_id, m.uid) == (mailbox_id, uid)), None)
    return None if at is None else Conversation(found, at, earlier, later)


def _ids(value: Any) -> list[str]:
    return _MESSAGE_IDS.findall(value)[:20] if isinstance(value, str) else []


def _group(
    rows: Sequence[Any], mailbox_id: int, uid: int, shown: int
) -> tuple[list[tuple[int, int]], int, int] | None:
    """The opened message's conversation among candidates of one base subject: the (mailbox, uid)
    of those to show oldest first (the opened one among them), and how many are left out before and
    after them."""
    kept: list[Any] = []
    seen: set[str] = set()
    # The opened copy first, so it is the one kept of two copies of the same message.
    ordered = sorted(rows, key=lambda r: not (r.mailbox_id == mailbox_id and r.uid == uid))
    for row in ordered:
        own = _ids(row.message_id)
        if own and own[0] in seen:
            continue
        seen.update(own[:1])
        kept.append(row)
    kept.sort(key=lambda r: (r.seconds, r.mailbox_id, r.uid))
    parent = list(range(len(kept)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def join(i: int, j: int) -> None:
        parent[root(i)] = root(j)

    by_id: dict[str, int] = {}
    for i, row in enumerate(kept):
        own = _ids(row.message_id)
        if own:
            by_id[own[0]] = i
        if i and row.seconds - kept[i - 1].seconds <= _GAP:
            join(i, i - 1)
    for i, row in enumerate(kept):
        for parent_id in _ids(row.in_reply_to):
            if parent_id in by_id:
                join(i, by_id[parent_id])
    at = next((i for i, r in enumerate(kept) if r.mailbox_id == mailbox_id and r.uid == uid), None)
    if at is None:
        return None
    group = root(at)
    members = [(r.mailbox_id, r.uid) for i, r in enumerate(kept) if root(i) == group]
    opened = members.index((mailbox_id, uid))
    start = max(0, len(members) - shown)  # the newest, unless the opened one is older than those
    if opened < start:
        start = max(0, opened - shown // 2)
    window = members[start : start + shown]
    return window, start, len(members) - start - len(window)
