"""`accesslog` (R13.4): access log events older than 12 months are deleted, a bounded batch per short
transaction so sign-ins never wait long behind the purge."""

from __future__ import annotations

from hopthu.directory.accesslog import KEEP, AccessLog
from hopthu.jobs.base import JobContext


async def purge(ctx: JobContext) -> dict[str, int]:
    removed = await AccessLog(ctx.services.store.db, lambda: ctx.now).purge(ctx.now - KEEP)
    return {"removed": removed}
