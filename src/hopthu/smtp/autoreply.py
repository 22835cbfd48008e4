"""Out-of-office replies (RFC 3834): at most one per sender per week, never to a list, bulk mail,
another automatic message or the null sender, and only to mail that names the person in To or Cc.

The reply goes out through the same pipeline as everything else, from the null sender with
`Auto-Submitted: auto-replied`, so replies cannot loop. It is sent after the message it answers was
stored and the sender answered; a failure to reply never touches the delivery.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from email.message import EmailMessage
from email.policy import SMTP

from hopthu.directory.accounts import AccountService
from hopthu.directory.former import FormerAddressService
from hopthu.directory.preferences import PreferenceService
from hopthu.directory.routing import Router
from hopthu.errors import NotFound
from hopthu.mail.envelope import address_text
from hopthu.policy.dates import VIETNAM
from hopthu.store import vacation

log = logging.getLogger(__name__)

PERIOD = dt.timedelta(days=7)  # RFC 3834 §3.1.7
_NEVER_LOCAL = re.compile(
    r"(?i)^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|owner-.*|.*-(request|bounces?))$"
)
_LIST_FIELDS = re.compile(rb"(?im)^(list-id|list-unsubscribe|list-post|list-help):")
_PRECEDENCE = re.compile(rb"(?im)^precedence:\s*(bulk|list|junk)\b")
_AUTO_SUBMITTED = re.compile(rb"(?im)^auto-submitted:\s*(?!no\b)\S")
_SUPPRESS = re.compile(rb"(?im)^x-auto-response-suppress:.*\b(oof|all)\b")


def may_answer(mail_from: str, header: bytes) -> bool:
    """RFC 3834 §2: whether a message may get an automatic reply at all."""
    local = mail_from.rpartition("@")[0]
    if not mail_from or not local or _NEVER_LOCAL.match(local):
        return False
    return not any(
        pattern.search(header) for pattern in (_LIST_FIELDS, _PRECEDENCE, _AUTO_SUBMITTED, _SUPPRESS)
    )


def addressed_to(envelope: dict, addresses: Iterable[str]) -> bool:
    """Whether one of `addresses` is in the message's To or Cc (not only in its envelope: Bcc, lists)."""
    wanted = {a.lower() for a in addresses}
    for field in ("to", "cc"):
        for address in envelope.get(field) or []:
            text = address_text(address)
            if text and text.lower() in wanted:
                return True
    return False


class AutoResponder:
    def __init__(self, router: Router, send: Callable[[bytes, str], Awaitable[object]]) -> None:
        self.router = router
        self.preferences = PreferenceService(router.ctx)
        self.accounts = AccountService(router.ctx)
        self.former = FormerAddressService(router.ctx, self.accounts)
        self.send = send  # (message, recipient): through the pipeline, from the null sender
        self._running: set[asyncio.Task[None]] = set()

    def after_delivery(
        self, mail_from: str, header: bytes, envelope: dict, subject: str, accounts: list[int]
    ) -> None:
        """Answer, in the background, for each account that is away (the caller does not wait)."""
        if not accounts or not may_answer(mail_from, header):
            return
        task = asyncio.get_running_loop().create_task(self._answer(mail_from, envelope, subject, accounts))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def wait(self) -> None:
        """Let replies being written finish (tests, and the server stopping)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _answer(self, mail_from: str, envelope: dict, subject: str, accounts: list[int]) -> None:
        ctx = self.router.ctx
        now = ctx.now()
        try:
            away = await self.preferences.away(accounts)
        except Exception:
            log.exception("out-of-office settings not read")
            return
        for account_id in accounts:
            preferences = away.get(account_id)
            if preferences is None:
                continue
            try:
                if not preferences.replies_on(now.astimezone(VIETNAM).date()):
                    continue
                try:
                    person = await self.accounts.get_by_id(account_id)
                except NotFound:
                    continue
                local, name = person.local, person.display_name
                primary = ctx.settings.server.domain
                mine = [
                    f"{local}@{primary}",
                    *(f"{local}@{d}" for d in self.router.flat_domains if d != primary),
                ]
                if self.router.former_domains:  # R13.7: the person's own old addresses, not local@them
                    mine += await self.former.of_account(account_id)
                if not addressed_to(envelope, mine) or not await self._first_in_period(
                    account_id, mail_from, now
                ):
                    continue
                reply = EmailMessage(policy=SMTP)
                reply["From"] = email.utils.formataddr((name, mine[0]))
                reply["To"] = mail_from
                reply["Subject"] = preferences.vacation_subject or f"Tự động trả lời: {subject}".strip()
                reply["Date"] = email.utils.format_datetime(now.astimezone(VIETNAM))
                reply["Message-ID"] = email.utils.make_msgid(domain=ctx.settings.server.domain)
                reply["Auto-Submitted"] = "auto-replied"  # RFC 3834 §5
                if envelope.get("message_id"):
                    reply["In-Reply-To"] = envelope["message_id"]
                    reply["References"] = envelope["message_id"]
                reply.set_content(preferences.vacation_text)
                await self.send(reply.as_bytes(), mail_from)
            except Exception:
                log.exception("out-of-office reply for account %s failed", account_id)

    async def _first_in_period(self, account_id: int, sender: str, now: dt.datetime) -> bool:
        """Record a reply to `sender` unless one went out within the period (one transaction)."""
        return await vacation.first_in_period(self.router.ctx.store.db, account_id, sender, now, PERIOD)
