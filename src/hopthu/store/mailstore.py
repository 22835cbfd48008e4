"""Mailboxes and messages: UIDs, MODSEQ, flags, quota usage, delivery with group commit.

A delivery writes the body once to the blob store (fsynced beside the other deliveries' bodies, see
`BlobStore.keep`), then one transaction adds a message row
per target mailbox, advances each mailbox's UIDNEXT and HIGHESTMODSEQ, adds to each account's usage
and counts the blob's references. Deliveries that arrive together share that transaction (group
commit), so a burst costs one fsync of the database, not one per message. The caller is answered only
after the commit; change events go out after it too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.store.blobs import BlobStore, Staged
from hopthu.store.db import Database
from hopthu.store.delivery import apply_batch
from hopthu.store.editing import MessageEditor
from hopthu.store.editing import StoreError as StoreError
from hopthu.store.events import Change, EventBus
from hopthu.store.maillog import LogEntry
from hopthu.store.schema import blob, mail_usage, mailbox, message
from hopthu.store.types import Delivered as Delivered
from hopthu.store.types import DeliveryJob
from hopthu.store.types import Parsed as Parsed
from hopthu.store.types import Remote as Remote
from hopthu.store.types import Target as Target

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]

# Every account gets these (RFC 6154 special-use); the names are what IMAP clients see.
DEFAULT_MAILBOXES: tuple[tuple[str, str | None], ...] = (
    ("INBOX", None),
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)

BLOB_GRACE = dt.timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class MailboxInfo:
    id: int
    account_id: int
    name: str
    special_use: str | None
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    message_count: int
    unseen_count: int


@dataclass(frozen=True, slots=True)
class MessageSummary:
    uid: int
    modseq: int
    flags: int
    keywords: str | None
    internal_date: dt.datetime
    size: int
    subject: str
    sender: str
    sent_at: dt.datetime | None
    has_attachments: bool
    preview: str
    blob_hash: str
    sort_sender: str
    sort_subject: str
    envelope: dict[str, Any]  # `mail.envelope` as stored: who it went to, for lists of mail one sent

    def sort_value(self, order: str) -> Any:
        """This message's key in `order` (see `ORDERS`), to say where a page ended."""
        key = ORDERS[order][0]
        return None if key is None else getattr(self, key)


PARALLEL_COMMITS = 8  # delivery batches handed to SQLite's shared transaction at once


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MailStore:
    """The mail side of the store: one per process, shared by every listener."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        events: EventBus,
        *,
        clock: Clock = utcnow,
        group_commit_seconds: float = 0.002,
        max_batch: int = 256,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.events = events
        self.clock = clock
        self._window = group_commit_seconds
        self._max_batch = max_batch
        self._pending: list[DeliveryJob] = []
        self._wake = asyncio.Event()
        self._committers: list[asyncio.Task[None]] = []
        self._committing = 0  # batches being committed now
        # On SQLite the database joins the batches that wait into its one writer's next transaction
        # (`Database.run_in_writer`), so a batch need not wait for the one before it to commit before
        # it is handed over. On PostgreSQL several batches at once measured no faster than one.
        self._parallel = PARALLEL_COMMITS if db.backend == "sqlite" else 1
        self._keeping = 0  # deliveries whose bodies are being made durable, not yet pending
        self.editor = MessageEditor(db, events, clock)

    # --- accounts ---------------------------------------------------------------------------------

    async def create_account_store(self, conn: AsyncConnection, account_id: int) -> None:
        """The usage counter and the special-use mailboxes of a new account (caller's transaction)."""
        await self.create_account_stores(conn, [account_id])

    async def create_account_stores(self, conn: AsyncConnection, account_ids: Sequence[int]) -> None:
        """`create_account_store` for many new accounts at once: two statements whatever their
        number (the driver sends multi-row inserts), not two per account."""
        if not account_ids:
            return
        now = self.clock()
        uidvalidity = int(now.timestamp())
        await conn.execute(
            sa.insert(mail_usage), [{"account_id": a, "last_uidvalidity": uidvalidity} for a in account_ids]
        )
        await conn.execute(
            sa.insert(mailbox),
            [
                {
                    "account_id": account_id,
                    "name": name,
                    "special_use": use,
                    "uidvalidity": uidvalidity,
                    "created_at": now,
                }
                for account_id in account_ids
                for name, use in DEFAULT_MAILBOXES
            ],
        )

    async def usage(self, account_id: int) -> tuple[int, int]:
        """(bytes, messages) the account's mail occupies."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(mail_usage.c.bytes, mail_usage.c.messages).where(
                        mail_usage.c.account_id == account_id
                    )
                )
            ).first()
        return (row.bytes, row.messages) if row else (0, 0)

    async def used_bytes(self, account_id: int) -> int:
        """The bytes the account's mail occupies (R5.1), in one point query (IMAP's GETQUOTA)."""
        row = await self.db.first(_USED, {"account": account_id})
        return int(row[0] or 0) if row else 0

    async def mailboxes(self, account_id: int) -> list[MailboxInfo]:
        rows = await self.db.all(_MAILBOXES, {"account_id": account_id})
        return [MailboxInfo(*row) for row in rows]

    async def mailbox(self, account_id: int, name: str) -> MailboxInfo | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(*_MAILBOX_COLUMNS).where(
                        mailbox.c.account_id == account_id, mailbox.c.name == name
                    )
                )
            ).first()
        return MailboxInfo(*row) if row else None

    # --- delivery ---------------------------------------------------------------------------------

    async def deliver(
        self,
        data: bytes,
        parsed: Parsed,
        targets: Sequence[Target | Remote],
        *,
        internal_date: dt.datetime | None = None,
        prefix: bytes | None = None,
        log: LogEntry | None = None,
    ) -> list[Delivered]:
        """Store one message into every local mailbox and queue it for every remote recipient.

        Returns one result per target, in order, once all of it is durable (one transaction). `log`
        is the message's mail log entry: settled with each target's fate and written in that same
        transaction (`LogEntry.reached` names the address of each target).
        """
        if not targets:
            return []
        # The body is durable before the job waits for a commit: while one group commits, the next
        # group's bodies are being synced, each beside the others (one journal commit for many).
        self._keeping += 1
        try:
            staged = await self.blobs.keep(data)
        finally:
            self._keeping -= 1
        future: asyncio.Future[list[Delivered]] = asyncio.get_running_loop().create_future()
        self._pending.append(
            DeliveryJob(data, staged, parsed, targets, internal_date or self.clock(), prefix, future, log)
        )
        self._ensure_committer()
        self._wake.set()
        return await future

    async def deliver_many(
        self,
        messages: Sequence[tuple[bytes, Parsed, Sequence[Target | Remote], dt.datetime | None]],
        *,
        kept: Sequence[Staged] | None = None,
    ) -> list[list[Delivered]]:
        """`deliver` for a batch (an import): the bodies made durable together
        (`BlobStore.keep_many`, or already, `kept`: an importer keeps the next batch's bodies while
        this one commits), then every message queued for the next group commits, in order. One
        result list per message, once all of them are durable."""
        if not messages:
            return []
        if kept is not None:
            staged = list(kept)
        else:
            self._keeping += len(messages)
            try:
                staged = await self.blobs.keep_many([data for data, _, _, _ in messages])
            finally:
                self._keeping -= len(messages)
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[list[Delivered]]] = []
        for (data, parsed, targets, when), body in zip(messages, staged, strict=True):
            future: asyncio.Future[list[Delivered]] = loop.create_future()
            futures.append(future)
            self._pending.append(
                DeliveryJob(data, body, parsed, targets, when or self.clock(), None, future, None)
            )
        self._ensure_committer()
        self._wake.set()
        return list(await asyncio.gather(*futures))

    def _ensure_committer(self) -> None:
        if len(self._committers) == self._parallel and not any(t.done() for t in self._committers):
            return
        self._committers = [t for t in self._committers if not t.done()]
        loop = asyncio.get_running_loop()
        while len(self._committers) < self._parallel:
            self._committers.append(loop.create_task(self._commit_loop()))

    async def _commit_loop(self) -> None:
        """One committer: wait for deliveries, gather those that arrive within the window, commit
        them as one batch, and again while any wait. `_parallel` committers run this; a delivery
        that arrives while all of them are committing waits for the first to finish."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._window:
                await asyncio.sleep(self._window)
            while self._pending:
                batch = self._pending[: self._max_batch]
                del self._pending[: self._max_batch]
                self._committing += 1
                try:
                    await self._commit(batch)
                finally:
                    self._committing -= 1

    async def _commit(self, batch: list[DeliveryJob]) -> None:
        try:
            results, changes = await self._apply([*batch])
        except Exception:
            if len(batch) == 1:
                log.exception("delivery transaction failed")
                _fail(batch[0], "store_error")
                return
            # One bad job must not fail its neighbours: retry each in a transaction of its own.
            for job in batch:
                await self._commit([job])
            return
        for job in batch:
            if not self.blobs.exists(job.digest):  # collected while we committed: write it again
                await asyncio.to_thread(self.blobs.put, job.data, job.digest)
        self.events.publish(changes)
        for job, result in zip(batch, results, strict=True):
            if not job.future.done():
                job.future.set_result(result)

    async def _apply(self, batch: list[DeliveryJob]) -> tuple[list[list[Delivered]], list[Change]]:
        now, backend = self.clock(), self.db.backend
        return await self.db.run_in_writer(lambda conn: apply_batch(conn, backend, batch, now))

    # --- reading ----------------------------------------------------------------------------------

    async def messages(
        self,
        mailbox_id: int,
        *,
        limit: int = 50,
        before_uid: int | None = None,
        order: str = "newest",
        after: tuple[int, Any] | None = None,
    ) -> list[MessageSummary]:
        """A page of a mailbox in one of `ORDERS`, each served from its own (mailbox, key, uid) index.

        `after` is where the previous page ended: (uid, key value) of its last message; for the
        arrival orders the key is unused. `before_uid` is the same for "newest"."""
        if before_uid is not None:
            after = (before_uid, None)
        params: dict[str, Any] = {"mailbox_id": mailbox_id, "limit": limit}
        if after is not None:
            params["uid"], params["value"] = after
        rows = await self.db.all(_page_query(order, after is not None), params)
        return [MessageSummary(*row) for row in rows]

    async def message_bytes(self, mailbox_id: int, uid: int) -> bytes | None:
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(message.c.prefix, message.c.blob_hash).where(
                        message.c.mailbox_id == mailbox_id, message.c.uid == uid
                    )
                )
            ).first()
        if row is None:
            return None
        return (row.prefix or b"") + await asyncio.to_thread(self.blobs.get, row.blob_hash)

    # --- removal ----------------------------------------------------------------------------------

    async def expunge(self, mailbox_id: int, uids: Iterable[int]) -> list[int]:
        """Remove messages for good (see `MessageEditor.expunge`); returns the UIDs removed."""
        owner = await self.db.first(_OWNER, {"box": mailbox_id})
        if owner is None:
            return []
        return await self.editor.expunge(owner[0], mailbox_id, list(uids))

    async def collect_garbage(self, *, grace: dt.timedelta = BLOB_GRACE) -> int:
        """Delete blobs no message has referred to for `grace`; return how many were removed.
        Each body's search text and index entry go with its row (ON DELETE CASCADE, `textindex`)."""
        cutoff = self.clock() - grace
        async with self.db.write() as conn:
            doomed = (
                (
                    await conn.execute(
                        sa.delete(blob)
                        .where(blob.c.refcount <= 0, blob.c.zero_since <= cutoff)
                        .returning(blob.c.hash)
                    )
                )
                .scalars()
                .all()
            )
        removed = 0
        for digest in doomed:
            removed += await asyncio.to_thread(self.blobs.remove, digest, unused_since=cutoff.timestamp())
        return removed

    async def close(self) -> None:
        """Finish pending deliveries (queued and in flight) and stop the committer."""
        await self.editor.close()
        while self._keeping or self._pending or self._committing:
            await asyncio.sleep(self._window or 0.001)
        for committer in self._committers:
            committer.cancel()
        await asyncio.gather(*self._committers, return_exceptions=True)
        self._committers = []


def _fail(job: DeliveryJob, reason: str) -> None:
    if not job.future.done():
        job.future.set_exception(StoreError(reason))


_OWNER = sa.select(mailbox.c.account_id).where(mailbox.c.id == sa.bindparam("box"))
_USED = sa.select(mail_usage.c.bytes).where(mail_usage.c.account_id == sa.bindparam("account"))
_MAILBOX_COLUMNS = (
    mailbox.c.id,
    mailbox.c.account_id,
    mailbox.c.name,
    mailbox.c.special_use,
    mailbox.c.uidvalidity,
    mailbox.c.uidnext,
    mailbox.c.highestmodseq,
    mailbox.c.message_count,
    mailbox.c.unseen_count,
)
_MAILBOXES = (
    sa.select(*_MAILBOX_COLUMNS)
    .where(mailbox.c.account_id == sa.bindparam("account_id"))
    .order_by(mailbox.c.id)
)
# How a list may be ordered: the key column (None: by UID, the arrival order) and whether descending.
ORDERS: dict[str, tuple[str | None, bool]] = {
    "newest": (None, True),
    "oldest": (None, False),
    "sender": ("sort_sender", False),
    "subject": ("sort_subject", False),
    "largest": ("size", True),
}
_SUMMARY_COLUMNS = (
    message.c.uid,
    message.c.modseq,
    message.c.flags,
    message.c.keywords,
    message.c.internal_date,
    message.c.size,
    message.c.subject,
    message.c.sender,
    message.c.sent_at,
    message.c.has_attachments,
    message.c.preview,
    message.c.blob_hash,
    message.c.sort_sender,
    message.c.sort_subject,
    message.c.envelope,
)


@functools.cache
def _page_query(order: str, continued: bool) -> sa.Select[Any]:
    """A page of a mailbox in `order`, from its start or after (`uid`, `value`) where the previous
    page ended: one statement object per shape, kept, so its compiled form is found at once."""
    key, descending = ORDERS[order]
    columns = [message.c.uid] if key is None else [message.c[key], message.c.uid]
    query = sa.select(*_SUMMARY_COLUMNS).where(message.c.mailbox_id == sa.bindparam("mailbox_id"))
    if continued:
        uid: sa.BindParameter[int] = sa.bindparam("uid")
        position = sa.tuple_(*columns) if key is not None else message.c.uid
        bound = uid if key is None else sa.tuple_(sa.bindparam("value", type_=columns[0].type), uid)
        query = query.where(position < bound if descending else position > bound)
    ordering = [column.desc() if descending else column.asc() for column in columns]
    return query.order_by(*ordering).limit(sa.bindparam("limit"))
