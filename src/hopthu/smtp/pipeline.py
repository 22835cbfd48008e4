"""The one way mail enters: MX, submission, webmail and the system's own notices all come here.

Parse once (`mail`), check (`policy` and `security`: attachment size R5.1, forged domain R3.2,
secrecy R8.1, sender rights R3.2/R8.2), add our headers beside the stored bytes (Received,
Authentication-Results, Sender for a delegate, DKIM-Signature), then one durable transaction: a
message row per local mailbox and a queue row per remote recipient. What became of it is an
`Outcome` (`smtp.outcome`): accepted only after that commit, else refused, held or deferred with a
reason and its words; each channel renders it (SMTP replies, the webmail's words). A local
recipient that filled up between RCPT and the commit is not lost: its sender gets a delivery status
notification.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import itertools
import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from hopthu.config import Settings
from hopthu.directory import audit
from hopthu.directory.auth import Identity
from hopthu.directory.routing import LocalRecipient, Router
from hopthu.directory.senders import SendAs, send_as
from hopthu.errors import HopThuError
from hopthu.mail import ParsedMessage, canonical, parse
from hopthu.mail.addresses import AddressError, read_author
from hopthu.mail.searchtext import part_text, text_parts
from hopthu.metrics.meters import UNWIRED, Meters
from hopthu.policy import forgery, quota, secrecy
from hopthu.protection import aggregate, doctext, trace
from hopthu.protection.feedback import read_reports
from hopthu.protection.inspector import Inspector, Subject
from hopthu.protection.verdicts import Action, Inspection, Verdict
from hopthu.smtp import outcome, replies
from hopthu.smtp.authresults import Result
from hopthu.smtp.autoreply import AutoResponder
from hopthu.smtp.dkim import sign
from hopthu.smtp.dns import Resolver
from hopthu.smtp.dsn import DsnRecipient, build_dsn
from hopthu.smtp.formernotice import FormerNotices
from hopthu.smtp.helpdesk import HelpdeskIntake
from hopthu.smtp.linefold import fold_long_lines
from hopthu.smtp.notices import build_notice
from hopthu.smtp.outcome import Outcome, Reason
from hopthu.smtp.verify import Verdict as AuthVerdict
from hopthu.smtp.verify import verify_inbound
from hopthu.store import Store
from hopthu.store.dmarc import DmarcTally, save_report
from hopthu.store.maillog import LogEntry, MailLog
from hopthu.store.mailstore import StoreError
from hopthu.store.traffic import Traffic
from hopthu.store.types import Delivered, Remote, Target

log = logging.getLogger(__name__)
NOTICE_ALLOWANCE = 10 * 1024 * 1024  # how far past its quota a mailbox takes the system's notices

SECRECY_TEXT_LIMIT = 64 * 1024


# The Received header's id: this process's random prefix and a count, unique without asking the
# kernel for random bytes per message (a system call on the loop, which then waits for the
# interpreter lock behind the writer's and the body files' threads).
class _TraceIds:
    prefix = secrets.token_hex(3)
    serial = itertools.count(1)

    @classmethod
    def renew(cls) -> None:  # in each worker `hopthu serve --workers` forks: a prefix of its own
        cls.prefix, cls.serial = secrets.token_hex(3), itertools.count(1)

    @classmethod
    def next(cls) -> str:
        return f"{cls.prefix}{next(cls.serial):06x}"


os.register_at_fork(after_in_child=_TraceIds.renew)


class Holding(Protocol):
    async def hold(
        self, incoming: Incoming, data: bytes, parsed: ParsedMessage, prefix: bytes, inspection: Inspection
    ) -> None:
        """Keep the message for an operator, lock the sending account (R3.1), tell who must know."""
        ...


class PersonalRules(Protocol):
    async def for_recipients(self, account_ids: set[int], senders: set[str]) -> dict[int, str]:
        """ "block" or "allow" for each account whose own lists name one of `senders`."""
        ...


@dataclass
class Incoming:
    """One message as it entered: the raw bytes and the envelope the client gave."""

    data: bytes
    mail_from: str
    recipients: Sequence[str]
    channel: str  # "mx" | "submission" | "web" | "system"
    client_ip: str = "127.0.0.1"
    helo: str = ""
    identity: Identity | None = None  # who signed in (submission, web)
    delegate_of: int | None = None  # the agency mailbox sent from, when a delegate sends (R8.3)
    tls: bool = False
    received_at: dt.datetime | None = None
    # Recipients the listener already looked up at RCPT time (so DATA does not ask again).
    known: dict[str, LocalRecipient] = field(default_factory=dict)


class Pipeline:
    meters: Meters = UNWIRED  # the server's, for /metrics

    def __init__(
        self,
        store: Store,
        router: Router,
        settings: Settings,
        resolver: Resolver,
        *,
        dkim_key: bytes | None = None,
    ) -> None:
        self.store = store
        self.router = router
        self.settings = settings
        self.resolver = resolver
        self.dkim_key = dkim_key
        self.rules = router.ctx.quota_rules
        self.active = 0  # messages being accepted right now (shutdown waits for them)
        self.on_queued: Callable[[], None] = lambda: None  # wakes the outbound queue
        self.auto_replies = AutoResponder(router, self.notify)
        self.former_notices = FormerNotices(router, self.notify)  # R13.7: old addresses' senders told
        self.helpdesk = HelpdeskIntake(router.ctx)
        self.traffic = Traffic(store.db, router.ctx.now)
        # Protection (R13.1, R13.2): the built-in checks alone until the server gives engines.
        self.inspector = Inspector(settings.protection, resolver)
        self.mail_log: MailLog | None = MailLog(store.db)
        self.holding: Holding | None = None  # quarantine for outbound spam (R3.1)
        self.personal_rules: PersonalRules | None = None  # people's own block and allow lists
        self.dmarc = DmarcTally(store.db, router.ctx.now)  # RFC 7489 aggregate data, flushed each minute

    async def accept(self, incoming: Incoming) -> Outcome:
        """Check and store one message, and say what became of it."""
        self.active += 1
        started = time.monotonic()
        try:
            return self.meters.message(incoming.channel, await self._accept(incoming), started)
        finally:
            self.active -= 1

    async def _accept(self, incoming: Incoming) -> Outcome:
        data = canonical(incoming.data)
        parsed = parse(data)
        record = _Record(self, incoming, data, parsed)
        try:
            quota.check_attachments(parsed.attachment_bytes, self.rules)
        except HopThuError as error:
            return await record.refused(outcome.refused_by(Reason.ATTACHMENTS_TOO_LARGE, error), "too_large")
        headers: list[bytes] = []
        if incoming.channel == "mx":
            verdict = await verify_inbound(
                data,
                client_ip=incoming.client_ip,
                helo=incoming.helo,
                mail_from=incoming.mail_from,
                resolver=self.resolver,
                authserv_id=self.settings.hostname,
                our_domains=self.router.domains,
            )
            record.auth = verdict
            if verdict.forges_our_domain:
                # R3.2; when DNS failed we cannot tell yet, so the sender is asked to try again.
                answer = forgery.forgery_answer(dns_failed=verdict.dmarc.result is Result.TEMPERROR)
                temporary = answer is forgery.ForgeryAnswer.TRY_LATER
                if not temporary:
                    self.traffic.blocked()
                said = (
                    outcome.tempfail(Reason.SENDER_UNVERIFIED)
                    if temporary
                    else outcome.refused(Reason.FORGED_DOMAIN)
                )
                return await record.refused(said, "forged")
            headers.append(verdict.header)
        else:
            refusal = await self._check_outgoing(data, parsed, incoming)
            if refusal is not None:
                return await record.refused(refusal, "policy")
        junk = False
        if incoming.channel != "system":
            inspection = record.inspection = await self.inspector.inspect(self._subject(incoming, record))
            if record.auth is not None and inspection.action is not Action.TEMPFAIL:
                self._tally_dmarc(incoming, record, inspection)  # a 451 is counted when it comes back
            refusal = await self._act_on(inspection, incoming, record, headers)
            if refusal is not None:
                return refusal
            junk = inspection.action is Action.JUNK
            headers.append(inspection.header)
        headers.insert(0, self._received(incoming))
        if incoming.delegate_of is not None and incoming.identity is not None:
            # R8.3: the person who really sent it, named beside the agency mailbox in From:
            headers.append(
                f"Sender: {_header_phrase(incoming.identity.display_name)} "
                f"<{incoming.identity.address}>\r\n".encode()
            )
        targets, addresses = await self._targets(incoming, junk=junk, author=record.author)
        reports = incoming.channel == "mx" and any(self._is_report_address(r) for r in incoming.recipients)
        if reports:
            # The report address takes mail with or without a mailbox behind it (DMARC reports about
            # our domains are read, not left to a person); a mailbox there keeps a copy as well.
            targets = [
                t for t in targets if not (isinstance(t, Remote) and self._is_report_address(t.recipient))
            ]
        unknown = [
            target.recipient
            for target in targets
            if isinstance(target, Remote)
            and self.router.is_local_domain(self.router.split(target.recipient)[1])
        ]
        if unknown:
            # Listeners refuse these at RCPT; the webmail and system notices meet them here: an
            # address at one of our domains that routes nowhere is never sent out as if remote.
            words = (f"Không có hộp thư {unknown[0]}", "No such mailbox")
            return await record.refused(outcome.refused(Reason.NO_SUCH_MAILBOX, words), "no_mailbox")
        leaving = any(isinstance(target, Remote) for target in targets)
        if incoming.channel != "mx" and leaving and self.dkim_key is not None:
            # Only mail that leaves needs a signature; our own mailboxes trust our own pipeline.
            headers.insert(0, self._signature(b"".join(headers) + data))
        record.prefix = b"".join(headers)
        if reports and not junk:
            await self._read_reports(data)
        try:
            delivered = (
                await self.store.mail.deliver(
                    data,
                    parsed,
                    targets,
                    internal_date=incoming.received_at,
                    prefix=record.prefix,
                    log=record.for_delivery([addresses.get(id(target), "") for target in targets]),
                )
                if targets
                else []
            )
        except StoreError:
            return await record.refused(outcome.tempfail(Reason.STORE_FAILED), "store_error")
        if not targets:  # only the DMARC report address, which has no mailbox: read, not stored
            await record.settled("read")
        if any(d.queue_id is not None for d in delivered):
            self.on_queued()
        refused = [d for d in delivered if d.refused]
        if refused and incoming.mail_from:
            await self._report_refused(data[: parsed.header_end], incoming, refused, addresses)
        stored = [
            d.target.account_id for d in delivered if isinstance(d.target, Target) and d.uid is not None
        ]
        if incoming.channel != "system":  # out-of-office replies (RFC 3834), never to a notice
            await self.traffic.received(stored)
            if incoming.identity is not None:
                await self.traffic.sent(incoming.identity.account_id)
            filed = [
                d.target.account_id
                for d in delivered
                if isinstance(d.target, Target) and d.uid is not None and d.target.mailbox == JUNK
            ]
            if filed and record.inspection is not None and record.inspection.verdict is Verdict.SPAM:
                await self.traffic.protection("spam_junk", filed)
            inboxed = [
                d
                for d in delivered
                if isinstance(d.target, Target) and d.uid is not None and d.target.mailbox != JUNK
            ]
            self.auto_replies.after_delivery(
                incoming.mail_from,
                data[: parsed.header_end],
                parsed.envelope,
                parsed.subject,
                [d.target.account_id for d in inboxed if isinstance(d.target, Target)],
            )
            if incoming.channel == "mx":
                reached = await self._former_reached(
                    incoming, [addresses.get(id(d.target), "") for d in inboxed]
                )
                self.former_notices.after_delivery(incoming.mail_from, data[: parsed.header_end], reached)
        self.helpdesk.after_delivery(
            delivered, parsed.envelope, parsed.subject, incoming.mail_from, _author(data[: parsed.header_end])
        )
        return outcome.accepted(delivered)

    async def _former_reached(self, incoming: Incoming, addresses: list[str]) -> list[tuple[str, str]]:
        """R13.7: the old addresses (a former province's) among those the message reached, each with
        the local part of the mailbox it reached."""
        if not self.settings.former.notify_senders:
            return []
        reached = []
        for address in addresses:
            if address and self.router.is_former_domain(self.router.split(address)[1]):
                local = incoming.known.get(address) or await self.router.local(address)
                if local is not None:
                    reached.append((address.lower(), local.local))
        return reached

    @property
    def report_address(self) -> str:
        """Where other receivers send their DMARC aggregate reports about our domains."""
        return aggregate.report_address(self.settings)

    def _is_report_address(self, address: str) -> bool:
        return address.lower() == self.report_address

    def _tally_dmarc(self, incoming: Incoming, record: _Record, inspection: Inspection) -> None:
        """The message's DMARC evaluation, counted for the aggregate report to its author domain."""
        assert record.auth is not None
        if not self.settings.protection.dmarc_reports:
            return
        evaluation = aggregate.evaluation(
            record.auth,
            inspection,
            client_ip=incoming.client_ip,
            header=record.data[: record.parsed.header_end],
        )
        if evaluation is not None and not forgery.is_ours(evaluation.domain, self.router.domains):
            self.dmarc.count(evaluation)

    async def _read_reports(self, data: bytes) -> None:
        """The aggregate reports attached to a message for the report address, kept for the portal
        (read in a thread: decompressing and parsing a stranger's file is bounded CPU work)."""
        try:
            summaries, problems = await asyncio.to_thread(read_reports, data)
            for summary in summaries:
                await save_report(self.store.db, summary, self.router.ctx.now())
        except Exception:
            log.exception("a DMARC report could not be read")
            return
        for problem in problems:
            log.info("a DMARC report was not read: %s", problem)

    async def deliver_released(
        self, incoming: Incoming, sender_account: int | None, prefix: bytes
    ) -> Outcome:
        """A message an operator released from quarantine (R3.1): its held bytes and our headers go
        the store path of `_accept`, not inspected again (the operator judged it), DKIM-signed when it
        leaves, counted and written to the mail log like any other delivery."""
        data = canonical(incoming.data)
        parsed = parse(data)
        record = _Record(self, incoming, data, parsed)
        targets, addresses = await self._targets(incoming, author=record.author, sender=sender_account)
        headers = [prefix]
        if any(isinstance(target, Remote) for target in targets) and self.dkim_key is not None:
            headers.insert(0, self._signature(prefix + data))
        record.prefix = b"".join(headers)
        try:
            delivered = await self.store.mail.deliver(
                data,
                parsed,
                targets,
                internal_date=incoming.received_at,
                prefix=record.prefix,
                log=record.for_delivery([addresses.get(id(target), "") for target in targets]),
            )
        except StoreError:
            return await record.refused(outcome.tempfail(Reason.STORE_FAILED), "store_error")
        if any(d.queue_id is not None for d in delivered):
            self.on_queued()
        await self.traffic.received(
            [d.target.account_id for d in delivered if isinstance(d.target, Target) and d.uid is not None]
        )
        if sender_account is not None:
            await self.traffic.sent(sender_account)
        return outcome.accepted(delivered)

    def _signature(self, message: bytes) -> bytes:
        """The DKIM-Signature of mail that leaves, signed as it will be relayed: the MX client folds
        lines over 998 octets (smtp.linefold)."""
        assert self.dkim_key is not None
        return sign(
            fold_long_lines(message),
            selector=self.settings.smtp.dkim_selector,
            domain=self.settings.server.domain,
            key_pem=self.dkim_key,
        )

    def _subject(self, incoming: Incoming, record: _Record) -> Subject:
        return Subject(
            data=record.data,
            parsed=record.parsed,
            channel=incoming.channel,
            client_ip=incoming.client_ip,
            helo=incoming.helo,
            mail_from=incoming.mail_from,
            recipients=incoming.recipients,
            hostname=self.settings.hostname,
            user=incoming.identity.address if incoming.identity is not None else None,
            auth=record.auth,
            author=record.author,
        )

    async def _act_on(
        self, inspection: Inspection, incoming: Incoming, record: _Record, headers: list[bytes]
    ) -> Outcome | None:
        """The refusals and holds an inspection decides; None lets the message through."""
        action = inspection.action
        if action is Action.REJECT:
            kind = _REFUSED_KIND.get(inspection.verdict)
            if kind is not None:
                await self.traffic.protection(kind, record.accounts())
            elif incoming.channel == "mx":
                self.traffic.blocked()
            words = (inspection.vi, inspection.en)
            return await record.refused(outcome.refused(Reason.PROTECTION, words), inspection.verdict.value)
        if action is Action.TEMPFAIL:
            return await record.refused(outcome.tempfail(Reason.SCAN_UNAVAILABLE), inspection.verdict.value)
        if action is Action.HOLD:
            prefix = self._received(incoming) + b"".join(headers) + inspection.header
            if self.holding is None:
                return await record.refused(outcome.held(kept=False), inspection.verdict.value)
            await self.holding.hold(incoming, record.data, record.parsed, prefix, inspection)
            await self.traffic.protection("held_outbound", record.accounts())
            return await record.refused(outcome.held(kept=True), inspection.verdict.value)
        return None

    async def tell(self, recipient: str, *, subject: str, vi: str, en: str) -> None:
        """A notice in the system's words (`smtp.notices`), from the helpdesk's address."""
        notice = build_notice(
            recipient=recipient,
            subject=subject,
            vi=vi,
            en=en,
            now=self.router.ctx.now(),
            domain=self.settings.server.domain,
        )
        await self.notify(notice, recipient)

    async def notify(self, notice: bytes, recipient: str) -> None:
        """Deliver a message the system writes (bounces, warnings) from the null sender: no loops.
        One not accepted is logged (its mail log entry says why); the caller's work goes on."""
        now = self.router.ctx.now()
        said = await self.accept(Incoming(notice, "", [recipient], "system", received_at=now))
        if not said.accepted:
            log.warning("a notice to %s was not accepted: %s (%s)", recipient, said.kind.value, said.en)

    async def _report_refused(
        self, header: bytes, incoming: Incoming, refused: list[Delivered], addresses: dict[int, str]
    ) -> None:
        """A mailbox that filled up between RCPT and the commit: the sender is told, nothing is lost
        silently (R5.1)."""
        failures = [
            DsnRecipient(addresses.get(id(d.target), ""), *_REFUSALS[d.refused or ""], "failed")
            for d in refused
        ]
        notice = build_dsn(
            original_headers=header,
            sender=incoming.mail_from,
            recipients=failures,
            reporting_mta=self.settings.hostname,
            now=self.router.ctx.now(),
            message_id_domain=self.settings.server.domain,
        )
        await self.notify(notice, incoming.mail_from)

    async def _check_outgoing(self, data: bytes, parsed: ParsedMessage, incoming: Incoming) -> Outcome | None:
        """Mail our own users send: From: must be theirs (R3.2, R8.2), no secrecy marking (R8.1).

        Sets `incoming.delegate_of` when the From: mailbox is an agency mailbox delegated to the sender.
        """
        if incoming.channel == "system" or incoming.identity is None:
            return None
        try:
            # One reading of who sent it, the one DMARC and mail clients see (mail.addresses).
            fields = read_author(data[: parsed.header_end])
        except AddressError:
            return outcome.refused(Reason.AMBIGUOUS_AUTHOR)
        if len(fields.authors) != 1:
            return outcome.refused(Reason.SENDER_NOT_ALLOWED)
        author = await send_as(self.router, incoming.identity, fields.authors[0].address)
        if author is None:
            return outcome.refused(Reason.SENDER_NOT_ALLOWED)
        if fields.sender_field is not None and (
            await send_as(self.router, incoming.identity, fields.sender_field.address) is None
        ):
            # R8.3: Sender: names who really sent it, never another
            return outcome.refused(Reason.SENDER_NOT_ALLOWED)
        body = "\n".join(
            part_text(data, node, SECRECY_TEXT_LIMIT) for node in text_parts(parsed.structure)[:3]
        )
        markings = secrecy.find_secrecy_markings(parsed.subject, body)
        if not markings and parsed.attachments:
            markings = await doctext.markings(doctext.in_message(data, parsed))
        if markings:
            return outcome.refused_by(Reason.SECRET, secrecy.secrecy_refusal(markings))
        if author.delegated:
            incoming.delegate_of = author.account_id
            await self._audit_delegated(incoming, author, parsed)
        return None

    async def _audit_delegated(self, incoming: Incoming, author: SendAs, parsed: ParsedMessage) -> None:
        assert incoming.identity is not None
        ctx = self.router.ctx
        async with self.store.db.write() as conn:
            await audit.record(
                conn,
                at=ctx.now(),
                actor=incoming.identity.local,
                action="mail.sent_as_delegate",
                target=self.router.split(author.address)[0],
                details={
                    "message_id": parsed.message_id,
                    "recipients": len(incoming.recipients),
                    "channel": incoming.channel,
                },
            )

    async def _targets(
        self, incoming: Incoming, *, junk: bool = False, author: str = "", sender: int | None = None
    ) -> tuple[list[Target | Remote], dict[int, str]]:
        """A target per distinct mailbox (an address and its alias are one) and per remote recipient,
        and the address each target was reached by (keyed by the target's id).

        `junk` files the message to each local mailbox's Thư rác; a person's own block list does
        the same, and their allow list keeps a message that only scored as spam in the inbox."""
        if sender is None:
            sender = incoming.delegate_of or (incoming.identity.account_id if incoming.identity else None)
        targets: dict[object, Target | Remote] = {}
        addresses: dict[int, str] = {}
        locals_: dict[str, LocalRecipient | None] = {}
        for recipient in incoming.recipients:
            locals_[recipient] = incoming.known.get(recipient) or await self.router.local(recipient)
        personal: dict[int, str] = {}
        if incoming.channel == "mx" and self.personal_rules is not None:
            senders = {address for address in (incoming.mail_from.lower(), author) if address}
            ids = {local.account_id for local in locals_.values() if local is not None}
            if ids and senders:
                personal = await self.personal_rules.for_recipients(ids, senders)
        for recipient in incoming.recipients:
            local = locals_[recipient]
            key: object = local.account_id if local else recipient.lower()
            if key in targets:
                continue
            # The system's own notices (a quota warning above all) reach a full mailbox too: telling
            # its owner it is full is the one message it must take (R5.1).
            quota = local.quota + NOTICE_ALLOWANCE if local and incoming.channel == "system" else None
            if local:
                rule = personal.get(local.account_id)
                filed = rule == "block" or (junk and rule != "allow")
                target: Target | Remote = Target(
                    local.account_id, quota=quota or local.quota, mailbox=JUNK if filed else "INBOX"
                )
            else:
                target = Remote(incoming.mail_from, recipient, sender)
            targets[key] = target
            addresses[id(target)] = recipient
        return list(targets.values()), addresses

    def _received(self, incoming: Incoming) -> bytes:
        """RFC 5321 §4.4 trace header (with RFC 3848 protocol names), stored beside the message."""
        when = email.utils.format_datetime(incoming.received_at or self.router.ctx.now())
        if incoming.channel in ("mx", "submission"):
            protocol = "ESMTP" + ("S" if incoming.tls else "") + ("A" if incoming.identity else "")
        else:
            protocol = "HTTPS" if incoming.channel == "web" else "LOCAL"
        helo = _ascii_token(incoming.helo) or "unknown"
        return (
            f"Received: from {helo} ([{incoming.client_ip}])\r\n\tby {self.settings.hostname} (Hop Thu) "
            f"with {protocol} id {_TraceIds.next()};\r\n\t{when}\r\n"
        ).encode()


JUNK = "Junk"  # the mailbox store's name for \\Junk (Thư rác)
_REFUSED_KIND = {
    Verdict.SPAM: "spam_refused",
    Verdict.MALWARE: "malware_refused",
    Verdict.DANGEROUS: "dangerous_refused",
}


class _Record:
    """What the mail log keeps of one message (R13.1), written whatever became of it."""

    def __init__(self, pipeline: Pipeline, incoming: Incoming, data: bytes, parsed: ParsedMessage) -> None:
        self.pipeline = pipeline
        self.incoming = incoming
        self.data = data
        self.parsed = parsed
        self.auth: AuthVerdict | None = None
        self.inspection: Inspection | None = None
        self.prefix = b""
        self.author = (_author(data[: parsed.header_end]) or "").lower()

    def accounts(self) -> list[int]:
        """Whose the message concerns, for the counts: the sender's account when one of ours sent
        it, else the local recipients'."""
        incoming = self.incoming
        if incoming.identity is not None:
            return [incoming.identity.account_id]
        return sorted({local.account_id for local in incoming.known.values()})

    async def refused(self, said: Outcome, verdict: str) -> Outcome:
        """Write the entry of a message not accepted (with the reply the client was given) and
        return the outcome."""
        await self._write(said.kind.value, verdict, str(replies.for_outcome(said)))
        return said

    async def settled(self, outcome: str) -> None:
        """A message accepted without a delivery to write its entry (e.g. a DMARC report read)."""
        await self._write(outcome, None, "")

    def for_delivery(self, reached: list[str]) -> LogEntry | None:
        """The entry the delivery's own transaction settles and writes (`MailStore.deliver(log=)`)."""
        if self.pipeline.mail_log is None:
            return None
        entry = self._entry("delivered", None, "")
        entry.reached = reached
        return entry

    async def _write(self, outcome: str, verdict: str | None, reply: str) -> None:
        pipeline, incoming = self.pipeline, self.incoming
        if pipeline.mail_log is None:
            return
        try:
            await pipeline.mail_log.record(self._entry(outcome, verdict, reply))
        except Exception:
            log.exception("mail log entry not written (%s from %s)", outcome, incoming.mail_from)

    def _entry(self, outcome: str, verdict: str | None, reply: str) -> LogEntry:
        pipeline, incoming = self.pipeline, self.incoming
        auth = None
        if self.auth is not None:
            auth = {
                "spf": self.auth.spf.result.value,
                "dkim": [s.result.value for s in self.auth.dkim],
                "dmarc": self.auth.dmarc.result.value,
                "dmarc_domain": self.auth.dmarc.from_domain,
                "dmarc_policy": self.auth.dmarc.policy,
            }
        return trace.entry(
            at=incoming.received_at or pipeline.router.ctx.now(),
            channel=incoming.channel,
            client_ip=incoming.client_ip,
            helo=incoming.helo,
            mail_from=incoming.mail_from,
            recipients=incoming.recipients,
            data=self.data,
            parsed=self.parsed,
            prefix=self.prefix,
            inspection=self.inspection,
            auth=auth,
            outcome=outcome,
            verdict=verdict,
            account_id=incoming.identity.account_id if incoming.identity is not None else None,
            reply=reply,
        )


_REFUSALS = {
    "over_quota": ("5.2.2", "mailbox full"),
    "no_mailbox": ("5.1.1", "no such mailbox"),
    "": ("5.0.0", "not delivered"),
}


def _author(header: bytes) -> str | None:
    """The one From: address of a header read strictly, or None when it has no single reading."""
    try:
        fields = read_author(header)
    except AddressError:
        return None
    return fields.authors[0].address if len(fields.authors) == 1 else None


def _header_phrase(name: str) -> str:
    """A display name as an RFC 2047 encoded word when it is not plain ASCII."""
    return email.utils.formataddr((name, "x@x"), "utf-8").rsplit(" <", 1)[0]


def _ascii_token(text: str) -> str:
    return "".join(ch for ch in text if 33 <= ord(ch) < 127 and ch not in "()[]")[:255]
