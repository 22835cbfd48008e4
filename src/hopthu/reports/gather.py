"""What a report says, per agency: its mailboxes by status when the report is made, the acts of the
period on its mailboxes (from the audit log, indexed by time), the requests it filed and how they
were decided, the mail its people received and sent and what protection turned away or held for
them (`traffic_day`, R9.3, R13.2), and the storage its mailboxes use. The city's line is the sum of
the agencies'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

import sqlalchemy as sa

from hopthu.reports.period import Period
from hopthu.store.db import Database
from hopthu.store.schema import account, agency, audit_event, daily_stats, mail_usage, request, traffic_day
from hopthu.store.traffic import PROTECTION_KINDS

# Audit actions counted, and the column each goes to.
ACTS = {
    "account.created": "created",
    "account.locked": "locked_in_period",
    "account.restored": "restored",
    "account.revoked": "revoked_in_period",
    "account.deleted": "deleted_in_period",
    "account.password_reset": "password_resets",
}
STATUSES = ("active", "locked", "revoked", "deleted")
COLUMNS = (
    *STATUSES,
    *ACTS.values(),
    "requests_filed",
    "requests_approved",
    "requests_rejected",
    "mail_received",
    "mail_sent",
    *PROTECTION_KINDS,
    "used_bytes",
)


@dataclass
class AgencyLine:
    code: str
    name: str
    figures: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COLUMNS, 0))


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    made_at: dt.datetime
    lines: list[AgencyLine]
    as_of: dt.date | None = None  # the day the states are from (None: when the report was made)

    @property
    def city(self) -> dict[str, int]:
        return {column: sum(line.figures[column] for line in self.lines) for column in COLUMNS}


async def gather(
    db: Database, period: Period, *, now: dt.datetime, within: Collection[int] | None = None
) -> Report:
    """The report of `period` for the agencies `within` (None: the whole city)."""
    agencies = await db.all(sa.select(agency.c.id, agency.c.code, agency.c.name).order_by(agency.c.name))
    lines = {row.id: AgencyLine(row.code, row.name) for row in agencies if within is None or row.id in within}
    states, as_of = await _states(db, period)
    for agency_id, figures in states.items():
        if agency_id in lines:
            for column, value in figures.items():
                lines[agency_id].figures[column] += value
    in_period = sa.and_(audit_event.c.at >= period.start, audit_event.c.at < period.end)
    for agency_id, action, count in await db.all(
        sa.select(account.c.agency_id, audit_event.c.action, sa.func.count())
        .select_from(audit_event.join(account, account.c.local == audit_event.c.target))
        .where(in_period, audit_event.c.action.in_(list(ACTS)))
        .group_by(account.c.agency_id, audit_event.c.action)
    ):
        if agency_id in lines:
            lines[agency_id].figures[ACTS[action]] += count
    filed: dict[tuple[int, str], int] = defaultdict(int)
    for agency_id, status, count in await db.all(
        sa.select(request.c.agency_id, request.c.status, sa.func.count())
        .where(request.c.created_at >= period.start, request.c.created_at < period.end)
        .group_by(request.c.agency_id, request.c.status)
    ):
        filed[(agency_id, status)] += count
    for (agency_id, status), count in filed.items():
        if agency_id in lines:
            lines[agency_id].figures["requests_filed"] += count
            if status in ("approved", "rejected"):
                lines[agency_id].figures[f"requests_{status}"] += count
    first, last = period.start.date(), period.end.date() - dt.timedelta(days=1)
    for agency_id, received, sent, *protection in await db.all(
        sa.select(
            traffic_day.c.agency_id,
            sa.func.sum(traffic_day.c.received),
            sa.func.sum(traffic_day.c.sent),
            *(sa.func.sum(traffic_day.c[kind]) for kind in PROTECTION_KINDS),
        )
        .where(traffic_day.c.day >= first, traffic_day.c.day <= last)
        .group_by(traffic_day.c.agency_id)
    ):
        if agency_id in lines:
            lines[agency_id].figures["mail_received"] += int(received or 0)
            lines[agency_id].figures["mail_sent"] += int(sent or 0)
            for kind, count in zip(PROTECTION_KINDS, protection, strict=True):
                lines[agency_id].figures[kind] += int(count or 0)
    return Report(period, now, list(lines.values()), as_of)


async def mailbox_states(db: Database) -> dict[int, dict[str, int]]:
    """Each agency's mailboxes by status, and the storage they use, now."""
    states: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*STATUSES, "used_bytes"), 0))
    for agency_id, status, count, used in await db.all(
        sa.select(
            account.c.agency_id,
            account.c.status,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(mail_usage.c.bytes), 0),
        )
        .select_from(account.outerjoin(mail_usage, mail_usage.c.account_id == account.c.id))
        .group_by(account.c.agency_id, account.c.status)
    ):
        states[agency_id][status] += count
        states[agency_id]["used_bytes"] += int(used)
    return states


async def _states(db: Database, period: Period) -> tuple[dict[int, dict[str, int]], dt.date | None]:
    """The states of the period's last day with a snapshot (the `stats` job), else of now."""
    last = period.end.date() - dt.timedelta(days=1)
    (day,) = (
        await db.all(
            sa.select(sa.func.max(daily_stats.c.day)).where(
                daily_stats.c.day >= period.start.date(), daily_stats.c.day <= last
            )
        )
    )[0]
    if day is None:
        return await mailbox_states(db), None
    rows = await db.all(sa.select(daily_stats).where(daily_stats.c.day == day))
    return {
        row.agency_id: {**{status: getattr(row, status) for status in STATUSES}, "used_bytes": row.used_bytes}
        for row in rows
    }, day
