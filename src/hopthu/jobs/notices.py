"""Warnings the jobs send by mail, each at most once for what it is about: a notice is recorded by
(account, kind, key), so a job that runs again, or a node that takes over, does not send it twice.
A job loads the notices of its kind once per run (one query, not one per account)."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from hopthu.jobs.base import JobContext
from hopthu.store import dialect
from hopthu.store.schema import notice


class Notices:
    def __init__(self, ctx: JobContext, kind: str, sent: dict[int, set[str]]) -> None:
        self.ctx = ctx
        self.kind = kind
        self.sent = sent

    @classmethod
    async def load(cls, ctx: JobContext, kind: str) -> Notices:
        rows = await ctx.services.store.db.all(
            sa.select(notice.c.account_id, notice.c.key).where(notice.c.kind == kind)
        )
        sent: dict[int, set[str]] = defaultdict(set)
        for account_id, key in rows:
            sent[account_id].add(key)
        return cls(ctx, kind, sent)

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
        db = ctx.services.store.db
        async with db.write() as conn:
            statement = dialect.insert(db.backend, notice).values(
                account_id=account_id, kind=self.kind, key=key, sent_at=ctx.now
            )
            await conn.execute(statement.on_conflict_do_nothing())
        self.sent[account_id].add(key)
        return True

    async def forget(self, account_id: int, keys: set[str]) -> None:
        """Let these notices go again (a mailbox back under a quota threshold)."""
        gone = keys & self.sent[account_id]
        if not gone:
            return
        async with self.ctx.services.store.db.write() as conn:
            await conn.execute(
                sa.delete(notice).where(
                    notice.c.account_id == account_id,
                    notice.c.kind == self.kind,
                    notice.c.key.in_(sorted(gone)),
                )
            )
        self.sent[account_id] -= gone
