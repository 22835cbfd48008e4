"""`maillog` (R13.1, Nghị định 91/2020): mail log entries older than `protection.mail_log_days` are
deleted, a bounded batch per short transaction so deliveries never wait long behind the purge."""

from __future__ import annotations

import datetime as dt

from hopthu.jobs.base import JobContext
from hopthu.store.maillog import MailLog


async def purge(ctx: JobContext) -> dict[str, int]:
    days = ctx.settings.protection.mail_log_days
    removed = await MailLog(ctx.services.store.db).purge(ctx.now - dt.timedelta(days=days))
    return {"removed": removed}
