"""The outbound queue: mail for other domains leaves from here, with retries and notices.

The delivery transaction writes one `queue_item` row per remote recipient (see `store.queue`). A row's
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
from dataclasses import replace
from typing import Any

from hopthu.config import Settings
from hopthu.directory import audit
from hopthu.errors import HopThuError, NotFound
from hopthu.metrics.meters import UNWIRED, Meters
from hopthu.smtp.dns import Resolver
from hopthu.smtp.dsn import DsnRecipient, build_dsn
from hopthu.smtp.mxclient import MxClient, Outcome
from hopthu.store import Store, maillog, queue
from hopthu.store.db import Connection, Database
from hopthu.store.mailstore import Clock, utcnow
from hopthu.store.queue import STATUSES, Attempted, QueueEntry, QueueRow

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
__all__ = ["STATUSES", "OutboundQueue", "QueueEntry", "QueueRow", "group_rows"]


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

    meters: Meters = UNWIRED  # the server's, for /metrics

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
        return await queue.lease_due(self.store.db, now, lease, BATCH), lease

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
        self.meters.outbound_settled(group, [change.status for change, _ in changes], now)
        notify = [notice for _, notice in changes if notice is not None]
        if notify:
            await self._notify(group[0], notify, now)
        dropped = await queue.settle(
            self.store.db,
            group[0].blob_hash,
            [
                (row.id, change, _fate(row, change, outcome))
                for row, (change, _), outcome in zip(group, changes, outcomes, strict=True)
            ],
            lease,
            now,
        )
        for row_id in dropped:
            log.warning("queue row %s was taken over or deleted meanwhile; result dropped", row_id)

    def _decide(
        self, row: QueueRow, outcome: Outcome, now: dt.datetime
    ) -> tuple[Attempted, DsnRecipient | None]:
        """The row's change and, when the sender must hear of it, the notice entry."""
        attempts = row.attempts + 1
        error = None if outcome.kind == "delivered" else _last_error(outcome)
        expires = row.created_at + self._lifetime
        if outcome.kind == "delivered":
            return Attempted(attempts, error, status="delivered", finished_at=now), None
        if outcome.kind == "failed" or now >= expires:
            notice = DsnRecipient(
                row.recipient, outcome.status, outcome.diagnostic, "failed", outcome.remote_mta
            )
            bounced = Attempted(attempts, error, status="bounced", finished_at=now)
            return bounced, notice if row.sender else None
        steps = self.settings.smtp.retry_minutes
        step = dt.timedelta(minutes=steps[min(row.attempts, len(steps) - 1)])
        # the last attempt falls at the lifetime's end
        waiting = Attempted(attempts, error, next_attempt_at=min(now + step, expires))
        if row.delay_notified or not row.sender or now < row.created_at + self._delay_notice:
            return waiting, None
        notice = DsnRecipient(
            row.recipient, outcome.status, outcome.diagnostic, "delayed", outcome.remote_mta
        )
        return replace(waiting, delay_notified=True), notice

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
        first = await queue.next_ready(self.store.db)
        if first is None:
            return IDLE_SECONDS
        return min(max((first - self.clock()).total_seconds(), MIN_PAUSE_SECONDS), IDLE_SECONDS)


def _fate(row: QueueRow, change: Attempted, outcome: Outcome) -> maillog.Fate | None:
    """The mail log's event for a settled row: its end (sent, bounced), or its first deferral; the
    later retries of a deferred row add nothing (the queue row keeps its last error)."""
    if row.mail_log_id is None:
        return None
    status = change.status
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


async def list_entries(db: Database, *, status: str | None, limit: int, offset: int = 0) -> list[QueueEntry]:
    """A page of the queue, oldest first; `status` None means every row."""
    if status is not None and status not in STATUSES:
        raise HopThuError(
            f"Trạng thái không hợp lệ: {status} (chọn {', '.join(STATUSES)} hoặc all)",
            f"Invalid status: {status} (choose {', '.join(STATUSES)} or all)",
        )
    return await queue.entries(db, status=status, limit=limit, offset=offset)


async def retry_now(db: Database, now: dt.datetime, entry_id: int | None = None) -> int:
    """Make one waiting row (or, with no id, every waiting row) due now; return how many."""
    count = await queue.make_due(db, now, entry_id)
    if entry_id is not None and count == 0:
        raise _not_waiting(entry_id)
    return count


async def delete_entry(
    db: Database, entry_id: int, *, reason: str, actor: str, now: dt.datetime
) -> QueueEntry:
    """Give up a waiting row without a bounce: finished as `deleted`, body released, audited.

    An attempt already under way may still reach the remote server; its result is then dropped.
    """

    async def audited(conn: Connection, entry: QueueEntry) -> None:
        await audit.record(
            conn,
            at=now,
            actor=actor,
            action="queue.deleted",
            target=f"queue:{entry_id}",
            reason=reason,
            details={"sender": entry.sender, "recipient": entry.recipient},
        )

    deleted = await queue.delete(db, entry_id, reason=reason, actor=actor, now=now, also=audited)
    if deleted is None:
        raise _not_waiting(entry_id)
    return deleted


def _not_waiting(entry_id: int) -> HopThuError:
    return NotFound(
        f"Không có thư số {entry_id} đang chờ gửi trong hàng đợi",
        f"No message {entry_id} is waiting in the queue",
    )
