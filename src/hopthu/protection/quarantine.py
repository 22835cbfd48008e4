"""The quarantine for outbound spam (R3.1): what the pipeline holds, and what operators decide.

Mail one of our own people sends that scores at or above `protection.hold_score` is presumed to come
from a hijacked account: it is kept (`store.quarantine`), the account is locked the one way the
system locks for spam (`AccountService.lock_for_spam`, R6.4a), and the operators and the agency's
mailbox managers are told by mail. An operator then releases it (delivered exactly once, through the
pipeline's store path without a second scan) or deletes it, each with a reason, each audited. What
no one decides is deleted after `protection.quarantine_days` (the `quarantine` job).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from hopthu.directory import audit
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError, NotFound
from hopthu.mail import ParsedMessage
from hopthu.protection.verdicts import Inspection
from hopthu.smtp.pipeline import Incoming, Pipeline
from hopthu.store.db import Connection
from hopthu.store.quarantine import Held, QuarantineStore

log = logging.getLogger("hopthu.protection")
REASON_LIMIT = 500
PAGE = "/quan-tri/thu-giu-lai"
# What the notice says of the sender's account: locked now, locked before, or not locked (an error).
_LOCK_WORDS: dict[bool | None, tuple[str, str]] = {
    True: ("Hộp thư đã bị tạm khóa (R6.4a).", "The mailbox has been locked (R6.4a)."),
    False: ("Hộp thư đã bị khóa từ trước.", "The mailbox was already locked."),
    None: (
        "Hộp thư chưa khóa được do lỗi hệ thống: hãy khóa bằng tay.",
        "The mailbox could not be locked (a system error): lock it by hand.",
    ),
}


@dataclass(frozen=True, slots=True)
class Released:
    held: Held
    delivered: int  # mailboxes and remote recipients the message went to


class Quarantine:
    """`smtp.pipeline.Holding`, and the operators' decisions."""

    def __init__(self, store: QuarantineStore, directory: Directory, pipeline: Pipeline) -> None:
        self.store = store
        self.directory = directory
        self.pipeline = pipeline

    @property
    def domain(self) -> str:
        return self.pipeline.settings.server.domain

    async def hold(
        self, incoming: Incoming, data: bytes, parsed: ParsedMessage, prefix: bytes, inspection: Inspection
    ) -> None:
        identity = incoming.identity
        held_id = await self.store.hold(
            data,
            prefix=prefix,
            channel=incoming.channel,
            mail_from=incoming.mail_from,
            recipients=list(incoming.recipients),
            client_ip=incoming.client_ip,
            account_id=identity.account_id if identity is not None else None,
            subject=parsed.subject,
            score=inspection.score,
            verdict=inspection.verdict.value,
            symbols=inspection.symbols,
        )
        if identity is None:
            return
        score = f"{inspection.score:.1f}" if inspection.score is not None else "?"
        locked: bool | None
        try:
            locked = await self.directory.accounts.lock_for_spam(
                identity.local, f"thư gửi đi bị giữ lại số {held_id}, điểm thư rác {score} (R3.1)"
            )
        except Exception:  # the message is held whatever: the operators are told to lock by hand
            log.exception("account %s not locked for held message %s", identity.local, held_id)
            locked = None
        await self._tell(identity.account_id, identity.address, held_id, score, parsed.subject, locked=locked)

    async def _tell(
        self, account_id: int, address: str, held_id: int, score: str, subject: str, *, locked: bool | None
    ) -> None:
        """The operators and the sender's agency managers, by mail (each failure logged, none fatal:
        the message is held and the account locked whatever the mail does)."""
        roles = self.directory.roles
        people = [*await roles.operators(), *await roles.managers_of(account_id)]
        web = self.pipeline.settings.server.web_url.rstrip("/")
        lock_vi, lock_en = _LOCK_WORDS[locked]
        subject = subject[:120]
        for local in dict.fromkeys(people):
            try:
                await self.pipeline.tell(
                    f"{local}@{self.domain}",
                    subject=f"Thư gửi đi bị giữ lại: {address}",
                    vi=f"Thư do {address} gửi có dấu hiệu thư rác (điểm {score}) và đã bị giữ lại (số"
                    f" {held_id}, tiêu đề “{subject}”): tài khoản có thể đã bị chiếm quyền. {lock_vi} Người"
                    f" quản trị xem và quyết định tại {web}{PAGE}/{held_id}.",
                    en=f"Mail sent by {address} looks like spam (score {score}) and was held (number"
                    f" {held_id}, subject “{subject}”): the account may have been taken over. {lock_en}"
                    f" Operators review it at {web}{PAGE}/{held_id}.",
                )
            except Exception:
                log.exception("notice of held message %s to %s not delivered", held_id, local)

    async def release(self, held_id: int, *, actor: str, reason: str) -> Released:
        """Deliver a held message, once: the row is claimed first, so of two operators releasing it
        together one delivers and the other is told it was decided already."""
        reason = _reason(reason)
        held = await self.store.claim_release(held_id, actor)
        if held is None:
            raise _decided(await self.store.get(held_id))
        try:
            data = await self.store.body(held)
            incoming = Incoming(
                data,
                held.mail_from,
                held.recipients,
                held.channel,
                client_ip=held.client_ip,
                received_at=self.pipeline.router.ctx.now(),
            )
            outcome = await self.pipeline.deliver_released(incoming, held.account_id, held.prefix)
        except BaseException:
            await self.store.unclaim(held_id)
            raise
        if not outcome.accepted:
            await self.store.unclaim(held_id)
            raise HopThuError(
                "Chưa chuyển được thư (kho thư lỗi tạm thời); thư vẫn được giữ, hãy thử lại",
                "The message was not delivered (a temporary store failure); it is still held, try again",
            )
        delivered = sum(1 for d in outcome.delivered if not d.refused)

        async def audited(conn: Connection, done: Held) -> None:
            await self._audit(conn, "quarantine.released", done, actor, reason, delivered=delivered)

        await self.store.released(held_id, audited)
        return Released(held, delivered)

    async def delete(self, held_id: int, *, actor: str, reason: str) -> Held:
        reason = _reason(reason)

        async def audited(conn: Connection, done: Held) -> None:
            await self._audit(conn, "quarantine.deleted", done, actor, reason)

        held = await self.store.delete(held_id, actor, audited)
        if held is None:
            raise _decided(await self.store.get(held_id))
        return held

    async def purge(self, now: dt.datetime, *, actor: str) -> int:
        """Delete what waited longer than `protection.quarantine_days`; how many."""
        days = self.pipeline.settings.protection.quarantine_days

        async def audited(conn: Connection, done: Held) -> None:
            await self._audit(conn, "quarantine.expired", done, actor, f"quá {days} ngày / over {days} days")

        return await self.store.purge(now - dt.timedelta(days=days), actor=actor, also=audited)

    async def _audit(
        self, conn: Connection, action: str, held: Held, actor: str, reason: str, **extra: int
    ) -> None:
        await audit.record(
            conn,
            at=self.pipeline.router.ctx.now(),
            actor=actor,
            action=action,
            target=held.mail_from or None,
            reason=reason,
            details={
                "id": held.id,
                "subject": held.subject,
                "recipients": len(held.recipients),
                "score": held.score,
                **extra,
            },
        )


def _reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise HopThuError("Hãy ghi lý do", "Give a reason")
    if len(reason) > REASON_LIMIT:
        raise HopThuError(
            f"Lý do dài quá {REASON_LIMIT} ký tự", f"The reason is longer than {REASON_LIMIT} characters"
        )
    return reason


def _decided(held: Held | None) -> HopThuError:
    if held is None:
        return NotFound("Không có thư bị giữ này", "No such held message")
    by = f" ({held.decided_by})" if held.decided_by else ""
    return HopThuError(
        f"Thư này đã được xử lý: {_STATUS_VI.get(held.status, held.status)}{by}",
        f"This message was decided already: {held.status}{by}",
        code="conflict",
    )


_STATUS_VI = {
    "releasing": "đang chuyển đi",
    "released": "đã chuyển đi",
    "deleted": "đã xóa",
    "held": "đang giữ",
}
