"""The directory's figures for the periodic reports (R9.3, R9.7): the agencies, their mailboxes by
status and the storage they use, the acts of a period on their mailboxes (from the audit log), the
requests they filed, and the daily snapshot of the mailboxes' states (the `statistics` job) so a
report on a past period shows the states of its last day. Typed rows, counted in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import NamedTuple

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import account, agency, audit_event, daily_stats, mail_usage, request


class AgencyName(NamedTuple):
    id: int
    code: str
    name: str


class StatusCount(NamedTuple):
    """An agency's mailboxes in one status, and the bytes they use."""

    agency_id: int
    status: str
    mailboxes: int
    used_bytes: int


class ActCount(NamedTuple):
    """How often an audited act was done on an agency's mailboxes."""

    agency_id: int
    action: str
    times: int


class RequestCount(NamedTuple):
    """How many of an agency's requests are in one status."""

    agency_id: int
    status: str
    requests: int


class DailyState(NamedTuple):
    """An agency's mailboxes by status on one day, and the storage they used (`daily_stats`)."""

    agency_id: int
    active: int
    locked: int
    revoked: int
    deleted: int
    used_bytes: int


async def agency_names(db: Database) -> list[AgencyName]:
    """Every agency, by name."""
    rows = await db.all(sa.select(agency.c.id, agency.c.code, agency.c.name).order_by(agency.c.name))
    return [AgencyName._make(row) for row in rows]


async def status_counts(db: Database) -> list[StatusCount]:
    """Each agency's mailboxes by status, and the storage they use, now."""
    rows = await db.all(
        sa.select(
            account.c.agency_id,
            account.c.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(mail_usage.c.bytes), 0),
        )
        .select_from(account.outerjoin(mail_usage, mail_usage.c.account_id == account.c.id))
        .group_by(account.c.agency_id, account.c.status)
    )
    return [StatusCount(agency_id, status, n, int(used)) for agency_id, status, n, used in map(tuple, rows)]


async def act_counts(
    db: Database, start: dt.datetime, end: dt.datetime, actions: Collection[str]
) -> list[ActCount]:
    """The audited `actions` done from `start` to before `end`, counted by the target's agency."""
    rows = await db.all(
        sa.select(account.c.agency_id, audit_event.c.action, sa.func.count())
        .select_from(audit_event.join(account, account.c.local == audit_event.c.target))
        .where(audit_event.c.at >= start, audit_event.c.at < end, audit_event.c.action.in_(list(actions)))
        .group_by(account.c.agency_id, audit_event.c.action)
    )
    return [ActCount._make(row) for row in rows]


async def request_counts(db: Database, start: dt.datetime, end: dt.datetime) -> list[RequestCount]:
    """The requests filed from `start` to before `end`, by agency and their status now."""
    rows = await db.all(
        sa.select(request.c.agency_id, request.c.status, sa.func.count())
        .where(request.c.created_at >= start, request.c.created_at < end)
        .group_by(request.c.agency_id, request.c.status)
    )
    return [RequestCount._make(row) for row in rows]


async def last_snapshot_day(db: Database, first: dt.date, last: dt.date) -> dt.date | None:
    """The latest day from `first` to `last` (both included) with a snapshot, if any."""
    rows = await db.all(
        sa.select(sa.func.max(daily_stats.c.day)).where(daily_stats.c.day >= first, daily_stats.c.day <= last)
    )
    day = rows[0][0]
    return day if isinstance(day, dt.date) else None


async def snapshot(db: Database, day: dt.date) -> list[DailyState]:
    """The states recorded for `day`, one row per agency."""
    rows = await db.all(
        sa.select(
            daily_stats.c.agency_id,
            daily_stats.c.active,
            daily_stats.c.locked,
            daily_stats.c.revoked,
            daily_stats.c.deleted,
            daily_stats.c.used_bytes,
        ).where(daily_stats.c.day == day)
    )
    return [DailyState._make(row) for row in rows]


async def record_snapshot(db: Database, day: dt.date, states: Sequence[DailyState]) -> None:
    """Replace the snapshot of `day` by `states` (a job run again on the same day records it anew)."""
    async with db.write() as conn:
        await conn.execute(sa.delete(daily_stats).where(daily_stats.c.day == day))
        if states:
            await conn.execute(sa.insert(daily_stats), [{"day": day, **state._asdict()} for state in states])
