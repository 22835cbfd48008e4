"""Warnings the jobs send by mail, each at most once for what it is about: a notice is recorded by
(account, kind, key), so a job that runs again, or a node that takes over, does not send it twice.
A job loads the notices of its kind once per run (one query, not one per account)."""

from __future__ import annotations

from collections import defaultdict

from hopthu.jobs.base import JobContext
from hopthu.store import notices


class Notices:
    def __init__(self, ctx: JobContext, kind: str, sent: defaultdict[int, set[str]]) -> None:
        self.ctx = ctx
        self.kind = kind
        self.sent = sent

    @classmethod
    async def load(cls, ctx: JobContext, kind: str) -> Notices:
        return cls(ctx, kind, await notices.sent(ctx.services.store.db, kind))

    async def send_once(
        self, account_id: int, key: str, *, recipients: list[str], subject: str, vi: str, en: str
    ) -> bool:
        """Mail the notice unless it went before; whether it went now. It is recorded after
        delivery: a crash in between may repeat one warning, never lose it."""
        if key in self.sent[account_id]:
            return False
        ctx = self.ctx
        for recipient in dict.fromkeys(recipients):
            await ctx.services.pipeline.tell(recipient, subject=subject, vi=vi, en=en)
        await notices.record(ctx.services.store.db, account_id, self.kind, key, ctx.now)
        self.sent[account_id].add(key)
        return True

    async def forget(self, account_id: int, keys: set[str]) -> None:
        """Let these notices go again (a mailbox back under a quota threshold)."""
        gone = keys & self.sent[account_id]
        if not gone:
            return
        await notices.forget(self.ctx.services.store.db, account_id, self.kind, gone)
        self.sent[account_id] -= gone
