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
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import secrets
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosmtplib
import sqlalchemy as sa

from hopthu.config import Settings
from hopthu.directory import audit
from hopthu.errors import HopThuError, NotFound
from hopthu.smtp.dns import DnsError, Resolver
from hopthu.smtp.dsn import DsnRecipient, build_dsn
from hopthu.store import Store
from hopthu.store.db import Database
from hopthu.store.mailstore import Clock, release_blobs, utcnow
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

_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})\b")  # RFC 3463 §2, at the start of a reply


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to for one recipient."""

    kind: str  # "delivered" | "failed" (permanent) | "retry" (temporary)
    status: str  # RFC 3463 enhanced status code
    diagnostic: str  # the remote reply ("550 5.1.1 No such user") or what happened on our side
    remote_mta: str | None = None  # the host whose reply `diagnostic` is


def from_reply(code: int, message: str, host: str) -> Outcome:
    """An SMTP reply as an outcome: the enhanced code it carries (RFC 2034), else one from its class."""
    kind = {"2": "delivered", "5": "failed", "4": "retry"}.get(str(code)[:1])
    if kind is None:  # not a reply code at all: the conversation went wrong
        return Outcome("retry", "4.5.0", f"{code} {message}".strip(), host)
    found = _ENHANCED.match(message)
    status = found.group(0) if found and found.group(1) == str(code)[0] else f"{str(code)[0]}.0.0"
    return Outcome(kind, status, f"{code} {message}", host)


class _HostFailed(Exception):
    """This host could not take the message now; the next one may."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.diagnostic)
        self.outcome = outcome


class _TlsFailed(Exception):
    """STARTTLS was offered but did not work: opportunistic TLS falls back to plain text."""


class MxClient:
    """Carries one message for recipients of one domain to that domain's mail servers (RFC 5321 §5)."""

    def __init__(self, settings: Settings, resolver: Resolver) -> None:
        self.settings = settings
        self.resolver = resolver
        # RFC 7435 opportunistic security: encryption without authentication beats plain text. Without
        # DANE or MTA-STS nothing says which certificate an MX should have, so none is checked.
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE

    async def transmit(
        self, domain: str, sender: str, recipients: Sequence[str], load: Callable[[], Awaitable[bytes]]
    ) -> list[Outcome]:
        """One outcome per recipient, in order; `load` reads the message once a route is known."""
        try:
            records = await self.resolver.mx(domain)
        except DnsError as error:
            return [Outcome("retry", "4.4.3", f"MX lookup for {domain} failed: {error}")] * len(recipients)
        hosts = [host.rstrip(".").lower() for _, host in records]
        if records and not any(hosts):  # RFC 7505 §3: the null MX "0 ." says the domain takes no mail
            return [Outcome("failed", "5.1.10", f"{domain} publishes a null MX: it accepts no mail")] * len(
                recipients
            )
        implicit = not records  # RFC 5321 §5.1: no MX, so the domain itself is the mail server
        data = await load()
        last = Outcome("retry", "4.4.1", f"no mail server of {domain} answered")
        for host in [h for h in hosts if h] or [domain]:
            try:
                addresses = await self.resolver.addresses(host)
            except DnsError as error:
                last = Outcome("retry", "4.4.3", f"address lookup for {host} failed: {error}")
                continue
            if not addresses:
                if implicit:
                    return [Outcome("failed", "5.1.2", f"{domain} has no MX and no address")] * len(
                        recipients
                    )
                last = Outcome("retry", "4.4.4", f"MX host {host} has no address")
                continue
            for address in addresses:
                try:
                    try:
                        return await self._session(host, address, sender, recipients, data, tls=True)
                    except _TlsFailed as error:
                        log.info(
                            "STARTTLS with %s [%s] failed (%s); sending without TLS", host, address, error
                        )
                        return await self._session(host, address, sender, recipients, data, tls=False)
                except _HostFailed as failure:
                    last = failure.outcome
        return [last] * len(recipients)

    async def _session(
        self,
        host: str,
        address: str,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
        *,
        tls: bool,
    ) -> list[Outcome]:
        smtp = self.settings.smtp
        client = aiosmtplib.SMTP(
            hostname=address,
            port=smtp.outbound_port,
            local_hostname=self.settings.hostname,
            timeout=smtp.outbound_timeout_seconds,
            start_tls=False,
        )
        try:
            await client.connect()
            await self._hello(client)
            if tls and client.supports_extension("starttls"):
                try:  # RFC 3207 §4.2: after TLS, everything learnt before is forgotten; say EHLO again
                    await client.starttls(server_hostname=host, tls_context=self._tls)
                    await self._hello(client)
                except (aiosmtplib.SMTPException, ssl.SSLError, OSError) as error:
                    raise _TlsFailed(str(error)) from None
            return await self._transaction(client, host, sender, recipients, data)
        except aiosmtplib.SMTPResponseException as error:
            raise _HostFailed(_retry(from_reply(error.code, error.message, host))) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            status = "4.4.1" if isinstance(error, aiosmtplib.SMTPConnectError) else "4.4.2"
            raise _HostFailed(Outcome("retry", status, f"{host} [{address}]: {error}")) from None
        finally:
            client.close()

    @staticmethod
    async def _hello(client: aiosmtplib.SMTP) -> None:
        try:
            await client.ehlo()
        except aiosmtplib.SMTPHeloError:  # RFC 5321 §3.2: a server that refuses EHLO may know HELO
            await client.helo()

    async def _transaction(
        self,
        client: aiosmtplib.SMTP,
        host: str,
        sender: str,
        recipients: Sequence[str],
        data: bytes,
    ) -> list[Outcome]:
        """MAIL, RCPT for each recipient, DATA (RFC 5321 §3.3); one outcome per recipient."""
        options = []
        if client.supports_extension("size"):
            options.append(f"SIZE={len(data)}")  # RFC 1870 §3
        if client.supports_extension("8bitmime") and not data.isascii():
            options.append("BODY=8BITMIME")  # RFC 6152 §3
        encoding = "ascii"
        if not all(a.isascii() for a in (sender, *recipients)):
            if not client.supports_extension("smtputf8"):  # RFC 6531 §3.2: never send UTF-8 unasked
                text = f"{host} does not accept non-ASCII addresses (no SMTPUTF8)"
                return [Outcome("failed", "5.6.7", text)] * len(recipients)
            options.append("SMTPUTF8")
            encoding = "utf-8"
        try:
            await client.mail(sender, options=options, encoding=encoding)
        except aiosmtplib.SMTPSenderRefused as error:
            outcome = from_reply(error.code, error.message, host)
            if outcome.kind != "failed":
                raise _HostFailed(outcome) from None
            return [outcome] * len(recipients)
        outcomes: dict[str, Outcome] = {}
        for recipient in recipients:
            try:
                await client.rcpt(recipient, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as error:
                outcomes[recipient] = from_reply(error.code, error.message, host)
            except ValueError as error:  # not an address that can go on a command line
                outcomes[recipient] = Outcome("failed", "5.1.3", str(error))
        accepted = [r for r in recipients if r not in outcomes]
        if accepted:
            try:
                reply = await client.data(data)
            except aiosmtplib.SMTPDataError as error:  # one reply for every accepted recipient
                result = from_reply(error.code, error.message, host)
            else:
                result = from_reply(reply.code, reply.message, host)
            outcomes.update(dict.fromkeys(accepted, result))
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await client.quit()
        return [outcomes[r] for r in recipients]


def _retry(outcome: Outcome) -> Outcome:
    """A refusal before the transaction (greeting, EHLO) ends this host's turn; the next may accept."""
    if outcome.kind == "retry":
        return outcome
    return Outcome("retry", "4" + outcome.status[1:], outcome.diagnostic, outcome.remote_mta)


# --- the queue -------------------------------------------------------------------------------------


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
        async with self.store.db.write() as conn:
            for row, (values, _) in zip(group, changes, strict=True):
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
                elif values.get("finished_at") is not None:
                    finished += 1
            if finished:
                await release_blobs(conn, {group[0].blob_hash: finished}, now)

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
                .returning(*_ENTRY_COLUMNS, queue_item.c.blob_hash)
            )
        ).first()
        if row is None:
            raise _not_waiting(entry_id)
        await release_blobs(conn, {row.blob_hash: 1}, now)
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
