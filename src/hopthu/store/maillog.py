"""The mail log (R13.1, Nghị định 91/2020): one entry per message in and out, kept 180 days.

The fields an operator traces by are columns; the rest of what identifies a message (HELO, To, Cc,
Date, the Received chain, the engines' verdicts, each recipient's fate) is one zstd-compressed JSON
document, compressed against a fixed dictionary of what such documents look like, so 180 days at
200,000 messages a day stay small (`bench/maillog.py` measures the bytes per entry; docs/maillog.md
has the figures).

Writing costs little and loses nothing that was answered: the entry of a message that was stored or
queued is one more row in the delivery's own group-commit transaction (`MailStore.deliver(log=...)`),
so it exists exactly when the message does. The entries of refused messages, which have no
transaction of their own, wait in a short bounded buffer written every second and at stop.

What happens afterwards is a small event row beside the entry (`mail_log_event`): the remote server
took it, it was deferred or bounced (the outbound queue, whose rows name their entry), or an operator
released or deleted it from quarantine (`add_event`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
import zstandard
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.store.db import Database
from hopthu.store.schema import mail_log, mail_log_event, queue_item
from hopthu.store.types import Delivered, Remote

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0  # how long a refused message's entry may wait in memory
BUFFER_LIMIT = 2000  # entries waiting at most; past that the caller writes them itself
PURGE_BATCH = 2000  # entries deleted per transaction: no long lock on the table
MAX_DETAILS = 1024 * 1024  # a document never inflates past this when read back
MAX_EVENTS = 200  # events shown or kept per entry read
JUNK = "Junk"

# The fixed dictionary of format 1: text such documents are made of (keys, trace fields, results,
# our domain). It never changes once released: a new one gets a new format byte, and both are read.
_DICTIONARY_V1 = (
    b'{"helo":"mail.cantho.gov.vn","to":["@cantho.gov.vn"],"cc":[],"date":"Mon, 02 Mar 2026 08:30:00 +0700",'
    b'"received":["from mail.cantho.gov.vn (mail.cantho.gov.vn [10.0.0.1]) by mx.cantho.gov.vn (Hop Thu) '
    b'with ESMTPS id ; Mon, 02 Mar 2026 08:30:00 +0700","from [192.168.1.10] (unknown [192.168.1.10]) '
    b"by smtp.gmail.com with ESMTPSA id (version=TLS1_3 cipher=TLS_AES_256_GCM_SHA384 bits=256/256); "
    b'Tue, 03 Mar 2026 09:15:00 -0800 (PST)","by 2002:a05:6a20: with SMTP id ; Wed, 04 Mar 2026 '
    b'10:00:00 +0000","from localhost (localhost [127.0.0.1]) by (Postfix) with ESMTP id for <>; Thu, '
    b'Fri, Sat, Sun, Jan Feb Apr May Jun Jul Aug Sep Oct Nov Dec 2025 2026 2027 (ICT) (UTC) +0700"],'
    b'"auth":{"spf":"pass","dkim":["pass"],"dmarc":"pass","dmarc_domain":"","dmarc_policy":"none"},'
    b'"spf":"softfail","fail","neutral","temperror","permerror","reject","quarantine",'
    b'"reply":"550 5.7.1 ","symbols":{"BAYES_HAM":-3.0,"DMARC_POLICY_ALLOW":-0.5,"MIME_GOOD":-0.1,'
    b'"R_DKIM_ALLOW":-0.2,"R_SPF_ALLOW":-0.2,"RCVD_IN_DNSWL_NONE":0.0,"ARC_NA":0.0,"FROM_HAS_DN":0.0,'
    b'"TO_DN_NONE":0.0,"RCPT_COUNT_ONE":0.0,"MID_RHS_MATCH_FROM":0.0,"ASN":0.0},"virus":"",'
    b'"engines":{"rspamd":"ok","clamd":"ok","dnsbl":"ok"},"why":"","fates":{"@cantho.gov.vn":"inbox",'
    b'"":"queued","":"junk","":"over_quota","":"no_mailbox"}}'
    b"@gmail.com @yahoo.com @outlook.com @hotmail.com .gov.vn .edu.vn .com.vn .vn"
)
_FORMAT_PLAIN = 0  # zstd alone
_FORMAT_DICT1 = 1  # zstd with _DICTIONARY_V1
# Level 3: a document ~7 % larger than at 9 (373 against 347 bytes in bench/maillog.py), at half the
# time, which a delivery's transaction spends on the writer.
_LEVEL = 3
_DICT1 = zstandard.ZstdCompressionDict(_DICTIONARY_V1, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
_DICT1.precompute_compress(level=_LEVEL)
_PARAMS: dict[str, Any] = {"write_checksum": False, "write_content_size": True, "write_dict_id": False}
# A compressor or decompressor must not serve two threads at once: the delivery's transaction packs
# on the database's writer thread, the refused messages' buffer on the event loop. One per thread.
_LOCAL = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    found = getattr(_LOCAL, "compressor", None)
    if found is None:
        found = _LOCAL.compressor = zstandard.ZstdCompressor(level=_LEVEL, dict_data=_DICT1, **_PARAMS)
    return found


def _decompressor(form: int) -> zstandard.ZstdDecompressor | None:
    found = getattr(_LOCAL, "decompressors", None)
    if found is None:
        found = _LOCAL.decompressors = {
            _FORMAT_PLAIN: zstandard.ZstdDecompressor(),
            _FORMAT_DICT1: zstandard.ZstdDecompressor(dict_data=_DICT1),
        }
    return found.get(form)


def pack(details: dict[str, Any]) -> bytes:
    """The document as stored: a format byte, then the zstd frame."""
    text = json.dumps(details, ensure_ascii=False, separators=(",", ":")).encode()
    return bytes([_FORMAT_DICT1]) + _compressor().compress(text)


def unpack(blob: bytes | None) -> dict[str, Any]:
    """The document back, never inflating past `MAX_DETAILS` (a damaged row is an empty document)."""
    if not blob:
        return {}
    decompressor = _decompressor(blob[0])
    if decompressor is None:
        return {}
    try:
        # Read through a stream, at most one byte past the bound: a frame's declared size is not trusted.
        with decompressor.stream_reader(io.BytesIO(bytes(blob[1:]))) as reader:
            text = reader.read(MAX_DETAILS + 1)
        if len(text) > MAX_DETAILS:
            raise ValueError("larger than a document can be")
        document = json.loads(text)
    except (zstandard.ZstdError, ValueError):
        log.warning("a mail log document could not be read")
        return {}
    return document if isinstance(document, dict) else {}


@dataclass
class LogEntry:
    at: dt.datetime
    direction: str  # "in" | "out"
    channel: str
    client_ip: str
    mail_from: str
    recipients: Sequence[str]
    header_from: str
    subject: str
    message_id: str
    size: int
    verdict: str
    outcome: str  # delivered | junk | queued | refused | tempfail | held | sent | deferred | bounced
    score: float | None = None
    account_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    # The address each delivery target was reached by, in the targets' order (set for a delivery).
    reached: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "direction": self.direction,
            "channel": self.channel,
            "client_ip": self.client_ip[:45],
            "mail_from": self.mail_from[:320].lower(),
            "recipients": " ".join(r.lower() for r in self.recipients),
            "header_from": self.header_from[:320].lower(),
            "subject": self.subject[:300],
            "message_id": self.message_id[:300],
            "size": self.size,
            "score": self.score,
            "verdict": self.verdict[:16],
            "outcome": self.outcome[:16],
            "account_id": self.account_id,
            "details": pack(self.details),
        }

    def settle(self, delivered: Sequence[Delivered]) -> dict[str, Any]:
        """The row once the delivery's transaction decided each target: each recipient's fate in
        the document, and the outcome of the whole."""
        fates: dict[str, str] = {}
        for index, done in enumerate(delivered):
            address = self.reached[index] if index < len(self.reached) else ""
            if done.refused:
                fates[address] = done.refused
            elif isinstance(done.target, Remote):
                fates[address] = "queued"
            else:
                fates[address] = "junk" if done.target.mailbox == JUNK else "inbox"
        if fates:
            self.details["fates"] = fates
        kinds = set(fates.values())
        if "queued" in kinds:
            self.outcome = "queued"
        elif kinds and kinds <= {"junk"}:
            self.outcome = "junk"
        elif kinds and not kinds & {"inbox", "junk"}:
            self.outcome = "refused"
        else:
            self.outcome = "delivered"
        return self.row()


@dataclass(frozen=True, slots=True)
class Event:
    at: dt.datetime
    kind: str  # sent | deferred | bounced | deleted | released | ...
    actor: str
    detail: str


@dataclass(frozen=True, slots=True)
class Found:
    """One entry as the portal lists it."""

    id: int
    at: dt.datetime
    direction: str
    channel: str
    client_ip: str
    mail_from: str
    recipients: str
    header_from: str
    subject: str
    message_id: str
    size: int
    score: float | None
    verdict: str
    outcome: str
    account_id: int | None


@dataclass(frozen=True, slots=True)
class Detail:
    entry: Found
    details: dict[str, Any]
    events: list[Event]


@dataclass(frozen=True, slots=True)
class Query:
    """What an operator traces by; empty fields do not narrow. `since`/`until` bound `at`."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    sender: str = ""  # the envelope sender (MAIL FROM), exact
    recipient: str = ""  # one envelope recipient, exact
    header_from: str = ""  # From:, exact
    subject: str = ""  # a part of Subject:
    message_id: str = ""  # Message-ID:, with or without <>
    client_ip: str = ""
    verdict: str = ""
    outcome: str = ""
    direction: str = ""

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        c = mail_log.c
        found: list[sa.ColumnElement[bool]] = []
        if self.since is not None:
            found.append(c.at >= self.since)
        if self.until is not None:
            found.append(c.at < self.until)
        if self.sender.strip():
            found.append(c.mail_from == self.sender.strip().lower())
        if self.recipient.strip():
            # Envelope recipients are one space-separated column: a whole-word match inside the date
            # range the `at` index narrows (most messages have one recipient, so no table of them).
            found.append(
                sa.literal(" ")
                .concat(c.recipients)
                .concat(" ")
                .contains(f" {self.recipient.strip().lower()} ", autoescape=True)
            )
        if self.header_from.strip():
            found.append(c.header_from == self.header_from.strip().lower())
        if self.subject.strip():
            found.append(c.subject.contains(self.subject.strip(), autoescape=True))
        if self.message_id.strip():
            wanted = self.message_id.strip()
            bare = wanted.strip("<>")
            found.append(c.message_id.in_({wanted, bare, f"<{bare}>"}))
        if self.client_ip.strip():
            found.append(c.client_ip == self.client_ip.strip())
        if self.verdict.strip():
            found.append(c.verdict == self.verdict.strip())
        if self.outcome.strip():
            found.append(c.outcome == self.outcome.strip())
        if self.direction in ("in", "out"):
            found.append(c.direction == self.direction)
        return found


_FOUND_COLUMNS = (
    mail_log.c.id,
    mail_log.c.at,
    mail_log.c.direction,
    mail_log.c.channel,
    mail_log.c.client_ip,
    mail_log.c.mail_from,
    mail_log.c.recipients,
    mail_log.c.header_from,
    mail_log.c.subject,
    mail_log.c.message_id,
    mail_log.c.size,
    mail_log.c.score,
    mail_log.c.verdict,
    mail_log.c.outcome,
    mail_log.c.account_id,
)


def insert_settled(conn: sa.Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Entries written in a delivery's transaction (synchronous, like `delivery.apply_batch`); ids."""
    if not rows:
        return []
    returning = sa.insert(mail_log).returning(mail_log.c.id, sort_by_parameter_order=True)
    return list(conn.execute(returning, rows).scalars().all())


async def add_event(
    conn: AsyncConnection,
    *,
    at: dt.datetime,
    kind: str,
    entry_id: int | None = None,
    message_id: str | None = None,
    actor: str = "",
    detail: str = "",
) -> int:
    """Add what became of a message (released by an operator, deleted, ...) to its entry, found by id
    or by Message-ID (every entry with it, the newest 20), in the caller's transaction; how many
    entries it was added to."""
    ids: list[int] = []
    if entry_id is not None:
        ids = list((await conn.execute(sa.select(mail_log.c.id).where(mail_log.c.id == entry_id))).scalars())
    elif message_id:
        bare = message_id.strip().strip("<>")
        ids = list(
            (
                await conn.execute(
                    sa.select(mail_log.c.id)
                    .where(mail_log.c.message_id.in_({message_id.strip(), bare, f"<{bare}>"}))
                    .order_by(mail_log.c.id.desc())
                    .limit(20)
                )
            ).scalars()
        )
    if ids:
        await conn.execute(
            sa.insert(mail_log_event),
            [
                {"log_id": i, "at": at, "kind": kind[:16], "actor": actor[:320], "detail": detail[:500]}
                for i in ids
            ],
        )
    return len(ids)


@dataclass(frozen=True, slots=True)
class Fate:
    """What the outbound queue learnt about one recipient of a logged message."""

    log_id: int
    recipient: str
    kind: str  # sent | deferred | bounced | deleted
    detail: str = ""


async def record_fates(conn: AsyncConnection, fates: Iterable[Fate], at: dt.datetime) -> None:
    """The queue's results as events, and each entry's outcome recomputed from its queue rows, in the
    queue's own transaction: `bounced` when one bounced, `deferred`/`queued` while one still waits,
    `sent` when every remote server took it."""
    fates = list(fates)
    if not fates:
        return
    await conn.execute(
        sa.insert(mail_log_event),
        [
            {
                "log_id": f.log_id,
                "at": at,
                "kind": f.kind,
                "actor": "",
                "detail": f"{f.recipient} {f.detail}"[:500],
            }
            for f in fates
        ],
    )
    for log_id in sorted({f.log_id for f in fates}):
        states = {
            (status, attempts > 0)
            for status, attempts in await conn.execute(
                sa.select(queue_item.c.status, queue_item.c.attempts).where(
                    queue_item.c.mail_log_id == log_id
                )
            )
        }
        statuses = {status for status, _ in states}
        if statuses & {"bounced", "deleted"}:
            outcome = "bounced" if "bounced" in statuses else "deleted"
        elif ("queued", True) in states:
            outcome = "deferred"
        elif "queued" in statuses:
            outcome = "queued"
        else:
            outcome = "sent"
        await conn.execute(sa.update(mail_log).where(mail_log.c.id == log_id).values(outcome=outcome))


class MailLog:
    """Entries of refused messages (buffered), the portal's reading, the events, the purge."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._buffer: list[dict[str, Any]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    async def record(self, entry: LogEntry) -> None:
        """Keep the entry of a message that has no delivery transaction (refused, held, failed):
        written within `FLUSH_SECONDS`, or now when `BUFFER_LIMIT` entries already wait."""
        self._buffer.append(entry.row())
        if len(self._buffer) >= BUFFER_LIMIT:
            await self.flush()
        elif self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        try:
            await self.flush()
        except Exception:
            log.exception("mail log entries not written; trying again in %s s", FLUSH_SECONDS)
            if self._buffer:
                self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def flush(self) -> None:
        """Write every waiting entry in one transaction (put back if it fails, within the bound)."""
        async with self._flushing:
            rows, self._buffer = self._buffer, []
            if not rows:
                return
            try:
                async with self.db.write() as conn:
                    await conn.execute(sa.insert(mail_log), rows)
            except BaseException:  # cancelled at the stop too: `close` writes them after
                self._buffer = (rows + self._buffer)[-BUFFER_LIMIT * 2 :]
                raise

    async def close(self) -> None:
        """Write what waits (the server's stop)."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        try:
            await self.flush()
        except Exception:
            log.exception("%d mail log entries could not be written at stop", len(self._buffer))

    # --- reading ----------------------------------------------------------------------------------

    async def search(self, query: Query, *, before_id: int | None = None, limit: int = 50) -> list[Found]:
        """Entries matching `query`, newest first, `limit` of them older than `before_id`."""
        statement = sa.select(*_FOUND_COLUMNS).where(*query.conditions())
        if before_id is not None:
            statement = statement.where(mail_log.c.id < before_id)
        rows = await self.db.all(statement.order_by(mail_log.c.id.desc()).limit(limit))
        return [Found(*row) for row in rows]

    async def entry(self, entry_id: int) -> Detail | None:
        """One entry with its document unpacked and its events, oldest first."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(*_FOUND_COLUMNS, mail_log.c.details).where(mail_log.c.id == entry_id)
                )
            ).first()
            if row is None:
                return None
            events = await conn.execute(
                sa.select(
                    mail_log_event.c.at,
                    mail_log_event.c.kind,
                    mail_log_event.c.actor,
                    mail_log_event.c.detail,
                )
                .where(mail_log_event.c.log_id == entry_id)
                .order_by(mail_log_event.c.id)
                .limit(MAX_EVENTS)
            )
            found = [Event(*event) for event in events]
        return Detail(Found(*row[:-1]), unpack(row[-1]), found)

    async def details_of(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """The unpacked documents of several entries (an export), read in one query."""
        if not ids:
            return {}
        rows = await self.db.all(sa.select(mail_log.c.id, mail_log.c.details).where(mail_log.c.id.in_(ids)))
        return {row.id: unpack(row.details) for row in rows}

    async def events_of(self, ids: list[int]) -> dict[int, list[Event]]:
        if not ids:
            return {}
        rows = await self.db.all(
            sa.select(
                mail_log_event.c.log_id,
                mail_log_event.c.at,
                mail_log_event.c.kind,
                mail_log_event.c.actor,
                mail_log_event.c.detail,
            )
            .where(mail_log_event.c.log_id.in_(ids))
            .order_by(mail_log_event.c.id)
        )
        found: dict[int, list[Event]] = {}
        for row in rows:
            found.setdefault(row.log_id, []).append(Event(*row[1:]))
        return found

    async def add_event(
        self,
        *,
        at: dt.datetime,
        kind: str,
        entry_id: int | None = None,
        message_id: str | None = None,
        actor: str = "",
        detail: str = "",
    ) -> int:
        """`add_event` in a transaction of its own."""
        async with self.db.write() as conn:
            return await add_event(
                conn, at=at, kind=kind, entry_id=entry_id, message_id=message_id, actor=actor, detail=detail
            )

    # --- purging ----------------------------------------------------------------------------------

    async def purge(self, before: dt.datetime, *, batch: int = PURGE_BATCH) -> int:
        """Delete the entries (and their events) older than `before`, `batch` per short transaction
        so deliveries never wait long behind it; how many were deleted."""
        removed = 0
        while True:
            async with self.db.write() as conn:
                ids = list(
                    (
                        await conn.execute(
                            sa.select(mail_log.c.id)
                            .where(mail_log.c.at < before)
                            .order_by(mail_log.c.at)
                            .limit(batch)
                        )
                    ).scalars()
                )
                if ids:
                    await conn.execute(sa.delete(mail_log_event).where(mail_log_event.c.log_id.in_(ids)))
                    await conn.execute(sa.delete(mail_log).where(mail_log.c.id.in_(ids)))
            removed += len(ids)
            if len(ids) < batch:
                return removed
            await asyncio.sleep(0)  # let the writers waiting behind this batch go first
