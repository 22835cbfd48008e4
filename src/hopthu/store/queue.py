"""The outbound queue's rows (`queue_item`), as typed operations for the worker and for operators.

Delivery writes the rows (`store.delivery`); this module leases due ones, records each attempt's
outcome where the lease still stands, and serves what operators do to the queue. What an outcome
means (retry when, bounce when, notify whom) is `smtp.outbound`'s decision; here it is written.

A row is leased by setting `lease_until`, on PostgreSQL under `FOR UPDATE SKIP LOCKED` so two nodes
never take the same row; SQLite has one writer, which is enough. Finishing a row drops its reference
to the stored body in the same transaction, and tells the mail log what became of it (R13.1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.store import maillog
from hopthu.store.db import Connection, Database
from hopthu.store.editing import release_blobs
from hopthu.store.schema import queue_item

STATUSES = ("queued", "delivered", "bounced", "deleted")
Also = Callable[[Connection, "QueueEntry"], Awaitable[None]]
"""What the caller records in the same transaction as an operator's act (its audit event)."""


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A leased row: what the worker needs to send it and to decide what comes next."""

    id: int
    blob_hash: str
    prefix: bytes | None
    sender: str
    recipient: str
    domain: str
    attempts: int
    delay_notified: bool
    created_at: dt.datetime
    mail_log_id: int | None = None  # the message's mail log entry, told what became of it (R13.1)


_ROW_COLUMNS = (
    queue_item.c.id,
    queue_item.c.blob_hash,
    queue_item.c.prefix,
    queue_item.c.sender,
    queue_item.c.recipient,
    queue_item.c.domain,
    queue_item.c.attempts,
    queue_item.c.delay_notified,
    queue_item.c.created_at,
    queue_item.c.mail_log_id,
)


@dataclass(frozen=True, slots=True)
class Attempted:
    """What one attempt changes in its row: always the count and the last error, and the lease ends;
    then either the row is finished (`status` delivered or bounced), or it waits for
    `next_attempt_at`, the sender perhaps told of the delay."""

    attempts: int
    last_error: str | None
    status: str = "queued"
    finished_at: dt.datetime | None = None
    next_attempt_at: dt.datetime | None = None
    delay_notified: bool = False  # the delay notice went with this attempt

    def values(self) -> dict[str, object]:
        changed: dict[str, object] = {
            "attempts": self.attempts,
            "lease_until": None,
            "last_error": self.last_error,
        }
        if self.status != "queued":
            changed.update(status=self.status, finished_at=self.finished_at)
        if self.next_attempt_at is not None:
            changed["next_attempt_at"] = self.next_attempt_at
        if self.delay_notified:
            changed["delay_notified"] = True
        return changed


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One row as operators see it (`hopthu queue list`)."""

    id: int
    status: str
    sender: str
    recipient: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "sender": self.sender,
            "recipient": self.recipient,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat(),
            "last_error": self.last_error,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


_ENTRY_COLUMNS = (
    queue_item.c.id,
    queue_item.c.status,
    queue_item.c.sender,
    queue_item.c.recipient,
    queue_item.c.attempts,
    queue_item.c.next_attempt_at,
    queue_item.c.last_error,
    queue_item.c.created_at,
    queue_item.c.finished_at,
)


async def lease_due(db: Database, now: dt.datetime, lease: dt.datetime, limit: int) -> list[QueueRow]:
    """Lease up to `limit` rows due at `now` until `lease`: free ones, and ones whose lease ran out
    (a node died). In id order."""
    due = (
        sa.select(queue_item.c.id)
        .where(
            queue_item.c.status == "queued",
            queue_item.c.next_attempt_at <= now,
            sa.or_(queue_item.c.lease_until.is_(None), queue_item.c.lease_until <= now),
        )
        .order_by(queue_item.c.next_attempt_at, queue_item.c.id)
        .limit(limit)
        # PostgreSQL: rows another node is leasing right now are skipped, not waited for. SQLAlchemy
        # leaves the clause out on SQLite, whose single writer already keeps nodes apart.
        .with_for_update(skip_locked=True)
    )
    async with db.write() as conn:
        ids = (await conn.execute(due)).scalars().all()
        if not ids:
            return []
        taken = await conn.execute(
            sa.update(queue_item)
            .where(queue_item.c.id.in_(ids))
            .values(lease_until=lease)
            .returning(*_ROW_COLUMNS)
        )
        rows = [QueueRow(*row) for row in taken]
    return sorted(rows, key=lambda r: r.id)


async def settle(
    db: Database,
    blob_hash: str,
    attempts: Sequence[tuple[int, Attempted, maillog.Fate | None]],
    lease: dt.datetime,
    now: dt.datetime,
) -> list[int]:
    """Write each (row id, change, mail log fate) of one message's group where the lease `lease`
    still stands, in one transaction; the ids whose result was dropped (taken over or deleted)."""
    dropped: list[int] = []
    finished = 0
    fates: list[maillog.Fate] = []
    async with db.write() as conn:
        for row_id, change, fate in attempts:
            result = await conn.execute(
                sa.update(queue_item)
                .where(
                    queue_item.c.id == row_id,
                    queue_item.c.status == "queued",
                    queue_item.c.lease_until == lease,
                )
                .values(**change.values())
            )
            if result.rowcount == 0:
                dropped.append(row_id)
                continue
            if change.finished_at is not None:
                finished += 1
            if fate is not None:
                fates.append(fate)
        if finished:
            await release_blobs(conn, {blob_hash: finished}, now)
        await maillog.record_fates(conn, fates, now)
    return dropped


async def next_ready(db: Database) -> dt.datetime | None:
    """When a waiting row can next be taken: once it is due and no lease on it stands."""
    ready = sa.case(
        (queue_item.c.lease_until > queue_item.c.next_attempt_at, queue_item.c.lease_until),
        else_=queue_item.c.next_attempt_at,
    )
    async with db.read() as conn:
        first = (
            await conn.execute(sa.select(sa.func.min(ready)).where(queue_item.c.status == "queued"))
        ).scalar()
    return first if isinstance(first, dt.datetime) else None


async def entries(db: Database, *, status: str | None, limit: int, offset: int = 0) -> list[QueueEntry]:
    """A page of the queue, oldest first; `status` None means every row."""
    query = sa.select(*_ENTRY_COLUMNS).order_by(queue_item.c.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(queue_item.c.status == status)
    async with db.read() as conn:
        return [QueueEntry(*row) for row in await conn.execute(query)]


async def make_due(db: Database, now: dt.datetime, entry_id: int | None = None) -> int:
    """Make one waiting row (or, with no id, every waiting row) due at `now`; how many."""
    update = sa.update(queue_item).where(queue_item.c.status == "queued").values(next_attempt_at=now)
    if entry_id is not None:
        update = update.where(queue_item.c.id == entry_id)
    async with db.write() as conn:
        return int((await conn.execute(update)).rowcount)


async def delete(
    db: Database, entry_id: int, *, reason: str, actor: str, now: dt.datetime, also: Also
) -> QueueEntry | None:
    """Finish a waiting row as `deleted`: its body released, the mail log told, `also` (the audit
    event) in the same transaction; None when no such row is waiting."""
    async with db.write() as conn:
        row = (
            await conn.execute(
                sa.update(queue_item)
                .where(queue_item.c.id == entry_id, queue_item.c.status == "queued")
                .values(status="deleted", finished_at=now, lease_until=None)
                .returning(*_ENTRY_COLUMNS, queue_item.c.blob_hash, queue_item.c.mail_log_id)
            )
        ).first()
        if row is None:
            return None
        await release_blobs(conn, {row.blob_hash: 1}, now)
        if row.mail_log_id is not None:
            fate = maillog.Fate(row.mail_log_id, row.recipient, "deleted", f"{actor}: {reason}")
            await maillog.record_fates(conn, [fate], now)
        entry = QueueEntry(*row[: len(_ENTRY_COLUMNS)])
        await also(conn, entry)
    return entry


async def waiting(db: Database) -> int:
    """How many items wait to leave (the operators' alert when the queue grows, R9.2)."""
    count = sa.select(sa.func.count()).select_from(queue_item).where(queue_item.c.status == "queued")
    return int((await db.all(count))[0][0])


async def backlog(db: Database) -> tuple[int, dt.datetime | None]:
    """How many items wait to leave and when the oldest of them was queued (/metrics: a queue that
    grows, or one whose oldest item only ages, is stuck)."""
    waiting_rows = (
        sa.select(sa.func.count(), sa.func.min(queue_item.c.created_at))
        .select_from(queue_item)
        .where(queue_item.c.status == "queued")
    )
    async with db.read() as conn:
        count, oldest = (await conn.execute(waiting_rows)).one()
    return int(count), oldest if isinstance(oldest, dt.datetime) else None
