"""`former` (R13.7): the record of senders told an old address's new one is kept one notice period
(`former.notice_days`); older records no longer hold a notice back and are forgotten."""

from __future__ import annotations

import datetime as dt

from hopthu.directory import former
from hopthu.jobs.base import JobContext


async def forget_notices(ctx: JobContext) -> dict[str, int]:
    period = dt.timedelta(days=ctx.services.settings.former.notice_days)
    return {"forgotten": await former.forget_notices(ctx.services.store.db, ctx.now - period)}
