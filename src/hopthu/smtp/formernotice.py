"""R13.7: who writes to a person's old address (a former province's, `directory.former`) may be told
the new one (`former.notify_senders`, off unless the operator turns it on).

The mail itself is delivered first and whatever happens here never touches it. A sender is told at
most once per old address per `former.notice_days` (remembered in `former_notice`, so a restart does
not tell them again), and never when the notice could loop or annoy: the null sender, our own people,
lists, bulk and automatic mail (the out-of-office rules, RFC 3834 §2), and mail filed as spam. The
notice is the system's own (`smtp.notices`: from the helpdesk, `Auto-Submitted: auto-generated`),
sent through the pipeline from the null sender, so it leaves by the outbound queue like any notice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence

from hopthu.directory import former
from hopthu.directory.routing import Router
from hopthu.smtp.autoreply import may_answer
from hopthu.smtp.notices import build_notice

log = logging.getLogger(__name__)


class FormerNotices:
    def __init__(self, router: Router, send: Callable[[bytes, str], Awaitable[object]]) -> None:
        self.router = router
        self.send = send  # (message, recipient): through the pipeline, from the null sender
        self._running: set[asyncio.Task[None]] = set()

    def after_delivery(self, mail_from: str, header: bytes, reached: Sequence[tuple[str, str]]) -> None:
        """Tell `mail_from`, in the background, the new address behind each (old address, new local
        part) its message reached, when the operator wants senders told and this sender may be."""
        settings = self.router.ctx.settings.former
        if not settings.notify_senders or not reached or not mail_from:
            return
        if self.router.is_local_domain(self.router.split(mail_from)[1]):
            return  # our own people see the new addresses in the directory
        if not may_answer(mail_from, header):
            return
        task = asyncio.get_running_loop().create_task(self._tell(mail_from, list(reached)))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def wait(self) -> None:
        """Let notices being written finish (tests, and the server stopping)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _tell(self, mail_from: str, reached: list[tuple[str, str]]) -> None:
        ctx = self.router.ctx
        period = dt.timedelta(days=ctx.settings.former.notice_days)
        domain = ctx.settings.server.domain
        for old, local in reached:
            try:
                now = ctx.now()
                if not await former.first_notice(ctx.store.db, mail_from, old, now, period):
                    continue
                new = f"{local}@{domain}"
                notice = build_notice(
                    recipient=mail_from,
                    subject=f"Địa chỉ thư mới / New address: {new}",
                    vi=(
                        f"Thư của bạn gửi tới {old} đã được chuyển tới người nhận. Từ khi sáp nhập tỉnh, "
                        f"địa chỉ thư của người này là {new}; xin dùng địa chỉ mới cho các thư sau."
                    ),
                    en=(
                        f"Your message to {old} was delivered. Since the provinces merged, this person's "
                        f"address is {new}; please use the new address from now on."
                    ),
                    now=now,
                    domain=domain,
                )
                await self.send(notice, mail_from)
            except Exception:
                log.exception("the new-address notice for %s could not be sent", old)
