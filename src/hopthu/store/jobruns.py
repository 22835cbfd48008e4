"""The record of the scheduled jobs' runs (`job_run`), and the lock that makes one node their leader.

A run is a row written when it starts (`running`) and finished as `ok` with the job's counts or
`failed` with the error; a period with an `ok` row is done. With PostgreSQL the leader holds a
session-level advisory lock on a connection of its own, outside the pool's sessions: when that
connection goes, so does the lock, and another node takes over.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.store.db import Database
from hopthu.store.schema import job_run


class JobRun(NamedTuple):
    job: str
    slot: str
    node: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    status: str
    summary: dict[str, int] | None
    error: str | None


async def done_since(db: Database, since: dt.datetime) -> set[tuple[str, str]]:
    """The (job, slot) pairs run successfully from `since` on."""
    rows = await db.all(
        sa.select(job_run.c.job, job_run.c.slot).where(
            job_run.c.status == "ok", job_run.c.started_at >= since
        )
    )
    return {(job, slot) for job, slot in map(tuple, rows)}


async def started(db: Database, job: str, slot: str, node: str, at: dt.datetime) -> int:
    """Record a run as running; its id."""
    async with db.write() as conn:
        run_id = (
            await conn.execute(
                sa.insert(job_run)
                .values(job=job, slot=slot, node=node, started_at=at, status="running")
                .returning(job_run.c.id)
            )
        ).scalar_one()
    return int(run_id)


async def finished(
    db: Database,
    run_id: int,
    *,
    status: str,
    summary: dict[str, int] | None,
    error: str | None,
    at: dt.datetime,
) -> None:
    """Record how the run ended."""
    async with db.write() as conn:
        await conn.execute(
            sa.update(job_run)
            .where(job_run.c.id == run_id)
            .values(status=status, summary=summary, error=error, finished_at=at)
        )


async def last(db: Database, job: str, limit: int) -> list[JobRun]:
    """The job's `limit` latest runs, newest first."""
    rows = await db.all(
        sa.select(
            job_run.c.job,
            job_run.c.slot,
            job_run.c.node,
            job_run.c.started_at,
            job_run.c.finished_at,
            job_run.c.status,
            job_run.c.summary,
            job_run.c.error,
        )
        .where(job_run.c.job == job)
        .order_by(job_run.c.id.desc())
        .limit(limit)
    )
    return [JobRun._make(row) for row in rows]


class LeaderLock:
    """A PostgreSQL advisory lock held on a dedicated connection while this node leads."""

    def __init__(self, db: Database, key: int) -> None:
        self.db = db
        self.key = key
        self._connection: AsyncConnection | None = None

    @property
    def held(self) -> bool:
        return self._connection is not None and not self._connection.closed

    async def try_take(self) -> bool:
        """Whether this node holds the lock now (taking it when free)."""
        if self.held:
            return True
        connection = await self.db.engine.connect()
        try:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            won = (
                await autocommit.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
            ).scalar()
        except Exception:
            await connection.close()
            raise
        if not won:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def release(self) -> None:
        """Let the lock go: its connection is invalidated for good (a pooled session would keep
        holding it). Raises what closing raised; the lock is gone either way."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            await connection.invalidate()
