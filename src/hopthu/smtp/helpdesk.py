"""Mail to hotro@ becomes a ticket (R7.2, R11.2): every message delivered to the helpdesk mailbox's
INBOX is filed as a `feedback` request in the operator's queue, tied to the sender's agency when the
sender is one of ours (so that agency's managers follow it too). A reply to a ticket's answer joins
that ticket instead of opening another (its In-Reply-To names the ticket), but only when it comes
from one of the ticket's correspondents: the person who opened it, those copied on that first
message, and those the answers went to. A ticket's number is no secret (it is in every answer's
Message-ID), so mail from anyone else that names it opens a ticket of its own instead of writing
into (and reopening) someone else's.

Filing happens beside delivery, not before the SMTP answer: the message is already safe in the
mailbox, and a ticket that could not be filed is logged with the message's place to be filed again.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
from typing import Any

from hopthu.directory import former, lookup
from hopthu.directory.context import DirectoryContext
from hopthu.directory.requests import RequestService
from hopthu.errors import HopThuError
from hopthu.smtp.notices import HELPDESK
from hopthu.store.types import Delivered, Target

log = logging.getLogger("hopthu.helpdesk")
ANSWER_TAG = "phieu-ho-tro-"
_ANSWERED = re.compile(rf"\.{ANSWER_TAG}(\d{{1,10}})@")


class HelpdeskIntake:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx
        self.requests = RequestService(ctx)
        self._running: set[asyncio.Task] = set()
        self._helpdesk: int | None = None

    def after_delivery(
        self,
        delivered: list[Delivered],
        envelope: dict,
        subject: str,
        mail_from: str,
        author: str | None = None,
    ) -> None:
        """File tickets in the background for what reached the helpdesk's INBOX (no work at all for
        the rest of the city's mail once the helpdesk's account id is known).

        `author` is the From: address as the pipeline reads it strictly (`mail.addresses`), None
        when From: has no single reading: the ticket is then from the envelope sender, never from
        a guess at a broken header (the agency a ticket belongs to follows from it)."""
        reached = [
            d
            for d in delivered
            if isinstance(d.target, Target) and d.target.mailbox == "INBOX" and d.uid is not None
        ]
        if self._helpdesk is not None:
            reached = [d for d in reached if d.target.account_id == self._helpdesk]
        if not reached:
            return
        sender = (author or mail_from).lower()
        task = asyncio.get_running_loop().create_task(self._file(reached, envelope, subject, sender))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def wait(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _helpdesk_id(self) -> int | None:
        """The helpdesk account's id, remembered once found (an installation makes it at init)."""
        if self._helpdesk is None:
            self._helpdesk = await lookup.account_id(self.ctx.store.db, HELPDESK)
        return self._helpdesk

    async def _file(self, reached: list[Delivered], envelope: dict, subject: str, sender: str) -> None:
        helpdesk = await self._helpdesk_id()
        for delivery in reached:
            if delivery.target.account_id != helpdesk:
                continue
            try:
                await self._ticket(delivery, envelope, subject, sender)
            except Exception:
                log.exception(
                    "no ticket for the message delivered to %s (mailbox %s, uid %s)",
                    HELPDESK,
                    delivery.mailbox_id,
                    delivery.uid,
                )

    async def _ticket(self, delivery: Delivered, envelope: dict, subject: str, sender: str) -> None:
        message = {
            "mailbox_id": delivery.mailbox_id,
            "uid": delivery.uid,
            "from": sender,
            "subject": subject,
            "message_id": (envelope.get("message_id") or "").strip(),
            "at": self.ctx.now().isoformat(),
        }
        earlier = await self._thread(envelope)
        if earlier is not None and sender.lower() not in correspondents(earlier.payload):
            log.info("a reply naming ticket %s from one not in it opens a ticket of its own", earlier.id)
            earlier = None
        if earlier is not None:
            payload = dict(earlier.payload)
            payload["messages"] = [*payload.get("messages", []), message]
            payload["thread"] = [*payload.get("thread", []), message["message_id"]]
            await self.requests.reopen(earlier.id, payload)
            return
        agency_code = await self._agency_of(sender)
        copied = _addresses(envelope.get("to")) + _addresses(envelope.get("cc"))
        await self.requests.file(
            "feedback",
            {
                "from": sender,
                "subject": subject,
                "messages": [message],
                "thread": [message["message_id"]],
                "cc": [a for a in copied if a != sender.lower() and not self._is_helpdesk(a)],
            },
            agency_code=agency_code,
            channel="mail",
            filed_by=sender,
        )

    async def _thread(self, envelope: dict) -> Any:
        """The ticket this message answers: our answers' Message-IDs carry the ticket's number
        (`answer_id`), so the In-Reply-To of a reply names it; no ticket is searched."""
        found = _ANSWERED.search(envelope.get("in_reply_to") or "")
        if found is None:
            return None
        try:
            ticket = await self.requests.get(int(found[1]))
        except HopThuError:
            return None
        return ticket if ticket.kind == "feedback" else None

    def _is_helpdesk(self, address: str) -> bool:
        local, _, domain = address.partition("@")
        smtp = self.ctx.settings.smtp
        return local == HELPDESK and domain in {
            self.ctx.settings.server.domain,
            *smtp.domain_aliases,
            *smtp.flat_domain_aliases,
        }

    async def _agency_of(self, sender: str) -> str | None:
        local, _, domain = sender.lower().partition("@")
        smtp = self.ctx.settings.smtp
        if domain in {d.lower() for d in smtp.domain_aliases}:  # R13.7: an old address is one person's
            found = await former.local_of(self.ctx.store.db, sender.lower())
            return await lookup.agency_code(self.ctx.store.db, found) if found else None
        if domain not in {d.lower() for d in (self.ctx.settings.server.domain, *smtp.flat_domain_aliases)}:
            return None
        return await lookup.agency_code(self.ctx.store.db, local)


def answer_id(ticket_id: int, domain: str) -> str:
    """The Message-ID of an answer to a ticket, naming the ticket for the reply to find."""
    return email.utils.make_msgid(f"{ANSWER_TAG}{ticket_id}", domain=domain)


def correspondents(payload: dict) -> set[str]:
    """Who may write into a ticket: its opener, those copied on the first message, and the
    recipients of every answer (`to`, `cc`), lowercased."""
    found = {str(payload.get("from") or "").lower(), *(str(a).lower() for a in payload.get("cc", []))}
    for answer in payload.get("answers", []):
        found.update(str(a).lower() for a in (*answer.get("to", []), *answer.get("cc", [])))
    found.discard("")
    return found


def _addresses(addresses: Any) -> list[str]:
    """Every mailbox of an envelope address list, lowercased (group syntax skipped)."""
    return [f"{item[2]}@{item[3]}".lower() for item in addresses or () if item and item[2] and item[3]]
