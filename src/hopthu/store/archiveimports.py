"""A person's import of an archive through the webmail (R13.7), one row per account in `archive_import`.

The row is the one truth every node reads: the page polled from any node shows the progress, and
"one import per person at a time" is a row in state `running` whose progress was renewed within
`STALLED` (an import whose process stopped half-way stops renewing it, and after that the person may
start again; the page says the earlier one was interrupted).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import archive_import

STALLED = dt.timedelta(minutes=5)  # a running import not heard of for this long has stopped


class ImportState(NamedTuple):
    state: str  # running | done | failed | stalled (running, but not heard of for STALLED)
    file_name: str
    started_at: dt.datetime
    updated_at: dt.datetime
    total: int
    done: int
    summary: dict[str, Any] | None
    error_vi: str | None
    error_en: str | None


_COLUMNS = (
    archive_import.c.state,
    archive_import.c.file_name,
    archive_import.c.started_at,
    archive_import.c.updated_at,
    archive_import.c.total,
    archive_import.c.done,
    archive_import.c.summary,
    archive_import.c.error_vi,
    archive_import.c.error_en,
)


async def latest(db: Database, account_id: int, now: dt.datetime) -> ImportState | None:
    """The account's latest import, None when it never imported."""
    async with db.read() as conn:
        row = (
            await conn.execute(sa.select(*_COLUMNS).where(archive_import.c.account_id == account_id))
        ).first()
    if row is None:
        return None
    found = ImportState._make(row)
    if found.state == "running" and found.updated_at < now - STALLED:
        return found._replace(state="stalled")
    return found


async def claim(db: Database, account_id: int, file_name: str, now: dt.datetime) -> bool:
    """Start an import for the account: False when one is running (and alive) already."""
    values = {
        "state": "running",
        "file_name": file_name[:300],
        "started_at": now,
        "updated_at": now,
        "total": 0,
        "done": 0,
        "summary": None,
        "error_vi": None,
        "error_en": None,
    }
    async with db.write() as conn:
        free = sa.or_(archive_import.c.state != "running", archive_import.c.updated_at < now - STALLED)
        taken = await conn.execute(
            sa.update(archive_import).where(archive_import.c.account_id == account_id, free).values(**values)
        )
        if taken.rowcount:
            return True
        exists = await conn.execute(
            sa.select(archive_import.c.account_id).where(archive_import.c.account_id == account_id)
        )
        if exists.first() is not None:
            return False
    try:
        async with db.write() as conn:
            await conn.execute(sa.insert(archive_import).values(account_id=account_id, **values))
    except sa.exc.IntegrityError:
        return False  # another request of the same person claimed it at the same moment
    return True


async def progressed(db: Database, account_id: int, *, done: int, total: int, now: dt.datetime) -> None:
    async with db.write() as conn:
        await conn.execute(
            sa.update(archive_import)
            .where(archive_import.c.account_id == account_id, archive_import.c.state == "running")
            .values(done=done, total=total, updated_at=now)
        )


async def alive(db: Database, account_id: int, now: dt.datetime) -> None:
    """The running import is still at work (reading a large file before its first message)."""
    async with db.write() as conn:
        await conn.execute(
            sa.update(archive_import)
            .where(archive_import.c.account_id == account_id, archive_import.c.state == "running")
            .values(updated_at=now)
        )


async def finished(
    db: Database,
    account_id: int,
    *,
    summary: dict[str, Any] | None,
    error: tuple[str, str] | None,
    now: dt.datetime,
) -> None:
    """Record how the import ended: done with its summary, or failed with the reason."""
    async with db.write() as conn:
        await conn.execute(
            sa.update(archive_import)
            .where(archive_import.c.account_id == account_id)
            .values(
                state="failed" if error else "done",
                summary=summary,
                error_vi=error[0] if error else None,
                error_en=error[1] if error else None,
                updated_at=now,
            )
        )
