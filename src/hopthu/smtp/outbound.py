"""The outbound queue: mail for other domains leaves from here, with retries and notices.

The delivery transaction writes one `queue_item` row per remote recipient (see `store.schema`). A row's
life:

    queued ─ 2xx ──────────────────────────────────→ delivered
      │ ─── 5xx, null MX, domain without mail server ─→ bounced  (a bounce to the sender now)
      │ ─── 4xx, no answer, DNS failure ──→ queued again at the next step of `retry_minutes`
      │        (one delay notice after `delay_notice_hours`; bounced after `queue_lifetime_hours`)
      └──── an operator's `hopthu queue delete` ───────→ deleted  (no bounce; audited)

Finishing a row sets `finished_at` and drops its reference to the stored body in the same transaction;
finished rows stay as the record of what was sent (R13.1) until retention removes them.

Several nodes may work one queue. A worker leases due rows by setting `lease_until` (on PostgreSQL under
`FOR UPDATE SKIP LOCKED`, so two nodes never take the same row; SQLite has one writer, which is enough)
and writes its results only where that lease still stands. A node that dies leaves leases that run out;
the rows are then taken again. Rows of one message for one domain travel in one SMTP transaction with
several RCPT TO (RFC 5321 §3.3). Notices go to the sender through the system's own pipeline
(`send_notice`), never for a message whose sender is the null path "" (RFC 5321 §4.5.5, RFC 3464 §1).

Carrying a group to the remote servers is `smtp.mxclient`'s work; this module owns the rows: leasing,
grouping, retries, notices, and what operators do to the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.config import Settings
from hopthu.directory import audit
from hopthu.errors import HopThuError, NotFound
from hopthu.smtp.dns import Resolver
from hopthu.smtp.dsn import DsnRecipient, build_dsn
from hopthu.smtp.mxclient import MxClient, Outcome
from hopthu.store import Store, maillog
from hopthu.store.db import Database
from hopthu.store.editing import release_blobs
from hopthu.store.mailstore import Clock, utcnow
from hopthu.store.schema import queue_item

log = logging.getLogger(__name__)

SendNotice = Callable[[bytes, str], Awaitable[None]]

# Rows leased at once. Every group of a batch is sent at the same time, so this also bounds the
# connections a node opens, and each attempt ends well within its lease.
BATCH = 50
# RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients per transaction.
RCPT_LIMIT = 100
# The longest `run` sleeps between looks at the queue (rows added by other nodes, operators' retries).
IDLE_SECONDS = 30.0
# ... and at least this, so a row another node is busy taking does not make us spin.
MIN_PAUSE_SECONDS = 0.1
# One attempt may take this many command timeouts in all; a lease lasts twice that.
ATTEMPT_TIMEOUTS = 10
STATUSES = ("queued", "delivered", "bounced", "deleted")


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


def group_rows(rows: Sequence[QueueRow]) -> list[list[QueueRow]]:
    """Rows of one message for one domain together, at most `RCPT_LIMIT` and each recipient once."""
    groups: dict[tuple[Any, ...], list[list[QueueRow]]] = {}
    for row in rows:
        chunks = groups.setdefault((row.blob_hash, row.prefix, row.sender, row.domain), [])
        for chunk in chunks:
            if len(chunk) < RCPT_LIMIT and all(r.recipient.lower() != row.recipient.lower() for r in chunk):
                chunk.append(row)
                break
        else:
            chunks.append([row])
    return [chunk for chunks in groups.values() for chunk in chunks]


class OutboundQueue:
    """The worker that empties the queue: started by `hopthu serve`, stopped by cancelling `run`."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        resolver: Resolver,
        *,
        clock: Clock = utcnow,
        send_notice: SendNotice,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.send_notice = send_notice
        self.client = MxClient(settings, resolver)
        smtp = settings.smtp
        self._attempt_seconds = smtp.outbound_timeout_seconds * ATTEMPT_TIMEOUTS
        self._lease = dt.timedelta(seconds=2 * self._attempt_seconds)
        self._lifetime = dt.timedelta(hours=smtp.queue_lifetime_hours)
        self._delay_notice = dt.timedelta(hours=smtp.delay_notice_hours)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look at the queue now (the pipeline calls this after queueing mail)."""
        self._wake.set()

    async def run(self) -> None:
        """Work the queue until cancelled; a failure is logged with an id and the loop goes on."""
        while True:
            pause = IDLE_SECONDS
            try:
                await self.run_once()
                pause = await self._seconds_to_next()
            except Exception:
                log.exception("outbound queue pass failed (incident %s)", secrets.token_hex(4))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)
            self._wake.clear()

    async def run_once(self) -> int:
        """Attempt every row due now; return how many rows were attempted."""
        attempted = 0
        while True:
            rows, lease = await self._take()
            await asyncio.gather(*(self._work(group, lease) for group in group_rows(rows)))
            attempted += len(rows)
            if len(rows) < BATCH:
                return attempted

    async def _take(self) -> tuple[list[QueueRow], dt.datetime]:
        """Lease a batch of due rows: free ones, and ones whose lease ran out (a node died)."""
        now = self.clock()
        lease = now + self._lease
        due = (
            sa.select(queue_item.c.id)
            .where(
                queue_item.c.status == "queued",
                queue_item.c.next_attempt_at <= now,
                sa.or_(queue_item.c.lease_until.is_(None), queue_item.c.lease_until <= now),
            )
            .order_by(queue_item.c.next_attempt_at, queue_item.c.id)
            .limit(BATCH)
            # PostgreSQL: rows another node is leasing right now are skipped, not waited for. SQLAlchemy
            # leaves the clause out on SQLite, whose single writer already keeps nodes apart.
            .with_for_update(skip_locked=True)
        )
        async with self.store.db.write() as conn:
            ids = (await conn.execute(due)).scalars().all()
            if not ids:
                return [], lease
            taken = await conn.execute(
                sa.update(queue_item)
                .where(queue_item.c.id.in_(ids))
                .values(lease_until=lease)
                .returning(*_ROW_COLUMNS)
            )
            rows = [QueueRow(*row) for row in taken]
        return sorted(rows, key=lambda r: r.id), lease

    async def _work(self, group: list[QueueRow], lease: dt.datetime) -> None:
        """Attempt one group and record what came of it; nothing escapes to stop the other groups."""
        ids = [row.id for row in group]
        try:
            outcomes = await self._attempt(group)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("outbound delivery of queue rows %s failed (incident %s)", ids, incident)
            outcomes = [Outcome("retry", "4.3.0", f"internal error (incident {incident})")] * len(group)
        try:
            await self._settle(group, outcomes, lease)
        except Exception:
            log.exception(
                "recording outbound results of queue rows %s failed (incident %s); they are taken again "
                "when their lease runs out",
                ids,
                secrets.token_hex(4),
            )

    async def _attempt(self, group: list[QueueRow]) -> list[Outcome]:
        first = group[0]

        async def load() -> bytes:
            body = await asyncio.to_thread(self.store.blobs.get, first.blob_hash)
            return (first.prefix or b"") + body

        try:
            async with asyncio.timeout(self._attempt_seconds):
                return await self.client.transmit(
                    first.domain, first.sender, [r.recipient for r in group], load
                )
        except TimeoutError:
            text = f"delivery attempt took longer than {self._attempt_seconds:.0f} seconds"
            return [Outcome("retry", "4.4.2", text)] * len(group)

    async def _settle(self, group: list[QueueRow], outcomes: list[Outcome], lease: dt.datetime) -> None:
        """Notify the sender, then write each row's new state where our lease still stands.

        The notice goes first: if this node dies before the commit, the rows are attempted again and
        the sender may hear twice, never not at all. A notice that cannot be delivered is logged and
        does not hold the rows back.
        """
        now = self.clock()
        changes = [self._decide(row, outcome, now) for row, outcome in zip(group, outcomes, strict=True)]
        notify = [notice for _, notice in changes if notice is not None]
        if notify:
            await self._notify(group[0], notify, now)
        finished = 0
        fates: list[maillog.Fate] = []
        async with self.store.db.write() as conn:
            for row, (values, _), outcome in zip(group, changes, outcomes, strict=True):
                result = await conn.execute(
                    sa.update(queue_item)
                    .where(
                        queue_item.c.id == row.id,
                        queue_item.c.status == "queued",
                        queue_item.c.lease_until == lease,
                    )
                    .values(**values)
                )
                if result.rowcount == 0:
                    log.warning("queue row %s was taken over or deleted meanwhile; result dropped", row.id)
                    continue
                if values.get("finished_at") is not None:
                    finished += 1
                fate = _fate(row, values, outcome)
                if fate is not None:
                    fates.append(fate)
            if finished:
                await release_blobs(conn, {group[0].blob_hash: finished}, now)
            await maillog.record_fates(conn, fates, now)

    def _decide(
        self, row: QueueRow, outcome: Outcome, now: dt.datetime
    ) -> tuple[dict[str, Any], DsnRecipient | None]:
        """The row's new columns and, when the sender must hear of it, the notice entry."""
        values: dict[str, Any] = {
            "attempts": row.attempts + 1,
            "lease_until": None,
            "last_error": None if outcome.kind == "delivered" else _last_error(outcome),
        }
        expires = row.created_at + self._lifetime
        if outcome.kind == "delivered":
            return values | {"status": "delivered", "finished_at": now}, None
        if outcome.kind == "failed" or now >= expires:
            notice = DsnRecipient(
                row.recipient, outcome.status, outcome.diagnostic, "failed", outcome.remote_mta
            )
            return values | {"status": "bounced", "finished_at": now}, notice if row.sender else None
        steps = self.settings.smtp.retry_minutes
        step = dt.timedelta(minutes=steps[min(row.attempts, len(steps) - 1)])
        values["next_attempt_at"] = min(now + step, expires)  # the last attempt falls at the lifetime's end
        if row.delay_notified or not row.sender or now < row.created_at + self._delay_notice:
            return values, None
        notice = DsnRecipient(
            row.recipient, outcome.status, outcome.diagnostic, "delayed", outcome.remote_mta
        )
        return values | {"delay_notified": True}, notice

    async def _notify(self, first: QueueRow, recipients: list[DsnRecipient], now: dt.datetime) -> None:
        try:
            headers = await asyncio.to_thread(self._original_headers, first)
            notice = build_dsn(
                original_headers=headers,
                sender=first.sender,
                recipients=recipients,
                reporting_mta=self.settings.hostname,
                now=now,
                message_id_domain=self.settings.server.domain,
                arrival_date=first.created_at,
                retry_until=first.created_at + self._lifetime,
            )
            await self.send_notice(notice, first.sender)
        except Exception:
            log.exception(
                "delivery status notice to %s about queue row %s failed (incident %s)",
                first.sender,
                first.id,
                secrets.token_hex(4),
            )

    def _original_headers(self, row: QueueRow) -> bytes:
        """The header of the queued message (prefix and stored header), read only as far as its end."""
        head = row.prefix or b""
        for chunk in self.store.blobs.stream(row.blob_hash):
            head += chunk
            end = head.find(b"\r\n\r\n")
            if end >= 0:
                return head[: end + 2]
        return head

    async def _seconds_to_next(self) -> float:
        """How long `run` may sleep: until a waiting row can next be taken, and never very long."""
        # A row can be taken once it is due and no lease on it stands.
        ready = sa.case(
            (queue_item.c.lease_until > queue_item.c.next_attempt_at, queue_item.c.lease_until),
            else_=queue_item.c.next_attempt_at,
        )
        async with self.store.db.read() as conn:
            first = (
                await conn.execute(sa.select(sa.func.min(ready)).where(queue_item.c.status == "queued"))
            ).scalar()
        if first is None:
            return IDLE_SECONDS
        return min(max((first - self.clock()).total_seconds(), MIN_PAUSE_SECONDS), IDLE_SECONDS)


def _fate(row: QueueRow, values: dict[str, Any], outcome: Outcome) -> maillog.Fate | None:
    """The mail log's event for a settled row: its end (sent, bounced), or its first deferral; the
    later retries of a deferred row add nothing (the queue row keeps its last error)."""
    if row.mail_log_id is None:
        return None
    status = values.get("status")
    if status == "delivered":
        where = f"{outcome.remote_mta} " if outcome.remote_mta else ""
        return maillog.Fate(row.mail_log_id, row.recipient, "sent", f"{where}{outcome.status}".strip())
    if status == "bounced":
        return maillog.Fate(row.mail_log_id, row.recipient, "bounced", _last_error(outcome))
    if row.attempts == 0:
        return maillog.Fate(row.mail_log_id, row.recipient, "deferred", _last_error(outcome))
    return None


def _last_error(outcome: Outcome) -> str:
    where = f"{outcome.remote_mta}: " if outcome.remote_mta else ""
    return f"{outcome.status} {where}{outcome.diagnostic}"


# --- what operators do ------------------------------------------------------------------------------


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

    def as_json(self) -> dict[str, Any]:
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


async def list_entries(db: Database, *, status: str | None, limit: int, offset: int = 0) -> list[QueueEntry]:
    """A page of the queue, oldest first; `status` None means every row."""
    if status is not None and status not in STATUSES:
        raise HopThuError(
            f"Trạng thái không hợp lệ: {status} (chọn {', '.join(STATUSES)} hoặc all)",
            f"Invalid status: {status} (choose {', '.join(STATUSES)} or all)",
        )
    query = sa.select(*_ENTRY_COLUMNS).order_by(queue_item.c.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(queue_item.c.status == status)
    async with db.read() as conn:
        return [QueueEntry(*row) for row in await conn.execute(query)]


async def retry_now(db: Database, now: dt.datetime, entry_id: int | None = None) -> int:
    """Make one waiting row (or, with no id, every waiting row) due now; return how many."""
    update = sa.update(queue_item).where(queue_item.c.status == "queued").values(next_attempt_at=now)
    if entry_id is not None:
        update = update.where(queue_item.c.id == entry_id)
    async with db.write() as conn:
        count = (await conn.execute(update)).rowcount
    if entry_id is not None and count == 0:
        raise _not_waiting(entry_id)
    return count


async def delete_entry(
    db: Database, entry_id: int, *, reason: str, actor: str, now: dt.datetime
) -> QueueEntry:
    """Give up a waiting row without a bounce: finished as `deleted`, body released, audited.

    An attempt already under way may still reach the remote server; its result is then dropped.
    """
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
            raise _not_waiting(entry_id)
        await release_blobs(conn, {row.blob_hash: 1}, now)
        if row.mail_log_id is not None:
            fate = maillog.Fate(row.mail_log_id, row.recipient, "deleted", f"{actor}: {reason}")
            await maillog.record_fates(conn, [fate], now)
        await audit.record(
            conn,
            at=now,
            actor=actor,
            action="queue.deleted",
            target=f"queue:{entry_id}",
            reason=reason,
            details={"sender": row.sender, "recipient": row.recipient},
        )
    return QueueEntry(*row[: len(_ENTRY_COLUMNS)])


def _not_waiting(entry_id: int) -> HopThuError:
    return NotFound(
        f"Không có thư số {entry_id} đang chờ gửi trong hàng đợi",
        f"No message {entry_id} is waiting in the queue",
    )
