"""The one way mail enters: MX, submission, webmail and the system's own notices all come here.

Parse once (`mail`), check (`policy` and `security`: attachment size R5.1, forged domain R3.2,
secrecy R8.1, sender rights R3.2/R8.2), add our headers beside the stored bytes (Received,
Authentication-Results, Sender for a delegate, DKIM-Signature), then one durable transaction: a
message row per local mailbox and a queue row per remote recipient. The answer (`250`) is given
only after that commit. A local recipient that filled up between RCPT and the commit is not lost:
its sender gets a delivery status notification.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hopthu.config import Settings
from hopthu.directory import audit
from hopthu.directory.auth import Identity
from hopthu.directory.routing import LocalRecipient, Router
from hopthu.directory.senders import SendAs, send_as
from hopthu.errors import HopThuError
from hopthu.mail import ParsedMessage, canonical, parse
from hopthu.mail.addresses import AddressError, read_author
from hopthu.mail.searchtext import part_text, text_parts
from hopthu.policy import quota, secrecy
from hopthu.smtp import replies
from hopthu.smtp.authresults import Result
from hopthu.smtp.autoreply import AutoResponder
from hopthu.smtp.dkim import sign
from hopthu.smtp.dns import Resolver
from hopthu.smtp.dsn import DsnRecipient, build_dsn
from hopthu.smtp.helpdesk import HelpdeskIntake
from hopthu.smtp.linefold import fold_long_lines
from hopthu.smtp.notices import build_notice
from hopthu.smtp.replies import Reply
from hopthu.smtp.verify import verify_inbound
from hopthu.store import Store
from hopthu.store.mailstore import Delivered, Remote, StoreError, Target
from hopthu.store.traffic import Traffic

log = logging.getLogger(__name__)
NOTICE_ALLOWANCE = 10 * 1024 * 1024  # how far past its quota a mailbox takes the system's notices

SECRECY_TEXT_LIMIT = 64 * 1024


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


@dataclass
class Outcome:
    reply: Reply
    delivered: list[Delivered] = field(default_factory=list)


class Pipeline:
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
        self.helpdesk = HelpdeskIntake(router.ctx)
        self.traffic = Traffic(store.db, router.ctx.now)

    async def accept(self, incoming: Incoming) -> Outcome:
        """Check and store one message; the reply says what the client is told."""
        self.active += 1
        try:
            return await self._accept(incoming)
        finally:
            self.active -= 1

    async def _accept(self, incoming: Incoming) -> Outcome:
        data = canonical(incoming.data)
        parsed = parse(data)
        try:
            quota.check_attachments(parsed.attachment_bytes, self.rules)
        except HopThuError as error:
            return Outcome(replies.ATTACHMENTS_TOO_LARGE.explaining(error))
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
            if verdict.forges_our_domain:
                # R3.2; when DNS failed we cannot tell yet, so the sender is asked to try again.
                temporary = verdict.dmarc.result is Result.TEMPERROR
                if not temporary:
                    self.traffic.blocked()
                return Outcome(replies.DMARC_TEMPERROR if temporary else replies.FORGED_DOMAIN)
            headers.append(verdict.header)
        else:
            refusal = await self._check_outgoing(data, parsed, incoming)
            if refusal is not None:
                return Outcome(refusal)
        headers.insert(0, self._received(incoming))
        if incoming.delegate_of is not None and incoming.identity is not None:
            # R8.3: the person who really sent it, named beside the agency mailbox in From:
            headers.append(
                f"Sender: {_header_phrase(incoming.identity.display_name)} "
                f"<{incoming.identity.address}>\r\n".encode()
            )
        targets, addresses = await self._targets(incoming)
        unknown = [
            target.recipient
            for target in targets
            if isinstance(target, Remote)
            and self.router.is_local_domain(self.router.split(target.recipient)[1])
        ]
        if unknown:
            # Listeners refuse these at RCPT; the webmail and system notices meet them here: an
            # address at one of our domains that routes nowhere is never sent out as if remote.
            return Outcome(replies.NO_SUCH_USER.with_text(f"Khong co hop thu {unknown[0]} / No such mailbox"))
        leaving = any(isinstance(target, Remote) for target in targets)
        if incoming.channel != "mx" and leaving and self.dkim_key is not None:
            # Only mail that leaves needs a signature; our own mailboxes trust our own pipeline.
            # Signed as it will be relayed: the MX client folds lines over 998 octets (smtp.linefold).
            signature = sign(
                fold_long_lines(b"".join(headers) + data),
                selector=self.settings.smtp.dkim_selector,
                domain=self.settings.server.domain,
                key_pem=self.dkim_key,
            )
            headers.insert(0, signature)
        try:
            delivered = await self.store.mail.deliver(
                data, parsed, targets, internal_date=incoming.received_at, prefix=b"".join(headers)
            )
        except StoreError:
            return Outcome(replies.TEMPORARY_FAILURE)
        if any(d.queue_id is not None for d in delivered):
            self.on_queued()
        refused = [d for d in delivered if d.refused]
        if refused and incoming.mail_from:
            await self._report_refused(data[: parsed.header_end], incoming, refused, addresses)
        if incoming.channel != "system":  # out-of-office replies (RFC 3834), never to a notice
            stored = [
                d.target.account_id for d in delivered if isinstance(d.target, Target) and d.uid is not None
            ]
            await self.traffic.received(stored)
            if incoming.identity is not None:
                await self.traffic.sent(incoming.identity.account_id)
            self.auto_replies.after_delivery(
                incoming.mail_from, data[: parsed.header_end], parsed.envelope, parsed.subject, stored
            )
        self.helpdesk.after_delivery(
            delivered, parsed.envelope, parsed.subject, incoming.mail_from, _author(data[: parsed.header_end])
        )
        return Outcome(replies.QUEUED, delivered)

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
        """Deliver a message the system writes (bounces, warnings) from the null sender: no loops."""
        await self.accept(Incoming(notice, "", [recipient], "system", received_at=self.router.ctx.now()))

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

    async def _check_outgoing(self, data: bytes, parsed: ParsedMessage, incoming: Incoming) -> Reply | None:
        """Mail our own users send: From: must be theirs (R3.2, R8.2), no secrecy marking (R8.1).

        Sets `incoming.delegate_of` when the From: mailbox is an agency mailbox delegated to the sender.
        """
        if incoming.channel == "system" or incoming.identity is None:
            return None
        try:
            # One reading of who sent it, the one DMARC and mail clients see (mail.addresses).
            fields = read_author(data[: parsed.header_end])
        except AddressError:
            return replies.AMBIGUOUS_AUTHOR
        if len(fields.authors) != 1:
            return replies.SENDER_NOT_ALLOWED
        author = await send_as(self.router, incoming.identity, fields.authors[0].address)
        if author is None:
            return replies.SENDER_NOT_ALLOWED
        if fields.sender_field is not None and (
            await send_as(self.router, incoming.identity, fields.sender_field.address) is None
        ):
            return replies.SENDER_NOT_ALLOWED  # R8.3: Sender: names who really sent it, never another
        body = "\n".join(
            part_text(data, node, SECRECY_TEXT_LIMIT) for node in text_parts(parsed.structure)[:3]
        )
        markings = secrecy.find_secrecy_markings(parsed.subject, body)
        if markings:
            return replies.SECRET_REFUSED.explaining(secrecy.secrecy_refusal(markings))
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

    async def _targets(self, incoming: Incoming) -> tuple[list[Target | Remote], dict[int, str]]:
        """A target per distinct mailbox (an address and its alias are one) and per remote recipient,
        and the address each target was reached by (keyed by the target's id)."""
        sender = incoming.delegate_of or (incoming.identity.account_id if incoming.identity else None)
        targets: dict[object, Target | Remote] = {}
        addresses: dict[int, str] = {}
        for recipient in incoming.recipients:
            local = incoming.known.get(recipient) or await self.router.local(recipient)
            key: object = local.account_id if local else recipient.lower()
            if key in targets:
                continue
            # The system's own notices (a quota warning above all) reach a full mailbox too: telling
            # its owner it is full is the one message it must take (R5.1).
            quota = local.quota + NOTICE_ALLOWANCE if local and incoming.channel == "system" else None
            target = (
                Target(local.account_id, quota=quota or local.quota)
                if local
                else Remote(incoming.mail_from, recipient, sender)
            )
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
            f"with {protocol} id {secrets.token_hex(6)};\r\n\t{when}\r\n"
        ).encode()


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
