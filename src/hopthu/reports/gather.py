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

from hopthu.directory import reporting
from hopthu.reports.period import Period
from hopthu.store import traffic
from hopthu.store.db import Database
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
    agencies = await reporting.agency_names(db)
    lines = {row.id: AgencyLine(row.code, row.name) for row in agencies if within is None or row.id in within}
    states, as_of = await _states(db, period)
    for agency_id, figures in states.items():
        if agency_id in lines:
            for column, value in figures.items():
                lines[agency_id].figures[column] += value
    for act in await reporting.act_counts(db, period.start, period.end, ACTS):
        if act.agency_id in lines:
            lines[act.agency_id].figures[ACTS[act.action]] += act.times
    filed: dict[tuple[int, str], int] = defaultdict(int)
    for counted in await reporting.request_counts(db, period.start, period.end):
        filed[(counted.agency_id, counted.status)] += counted.requests
    for (agency_id, status), count in filed.items():
        if agency_id in lines:
            lines[agency_id].figures["requests_filed"] += count
            if status in ("approved", "rejected"):
                lines[agency_id].figures[f"requests_{status}"] += count
    first, last = period.start.date(), period.end.date() - dt.timedelta(days=1)
    for total in await traffic.totals(db, first, last):
        if total.agency_id in lines:
            figures = lines[total.agency_id].figures
            figures["mail_received"] += total.received
            figures["mail_sent"] += total.sent
            for kind, count in zip(PROTECTION_KINDS, total.protection, strict=True):
                figures[kind] += count
    return Report(period, now, list(lines.values()), as_of)


async def mailbox_states(db: Database) -> dict[int, dict[str, int]]:
    """Each agency's mailboxes by status, and the storage they use, now."""
    states: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*STATUSES, "used_bytes"), 0))
    for counted in await reporting.status_counts(db):
        states[counted.agency_id][counted.status] += counted.mailboxes
        states[counted.agency_id]["used_bytes"] += counted.used_bytes
    return states


async def _states(db: Database, period: Period) -> tuple[dict[int, dict[str, int]], dt.date | None]:
    """The states of the period's last day with a snapshot (the `stats` job), else of now."""
    day = await reporting.last_snapshot_day(db, period.start.date(), period.end.date() - dt.timedelta(days=1))
    if day is None:
        return await mailbox_states(db), None
    return {
        row.agency_id: {**{status: getattr(row, status) for status in STATUSES}, "used_bytes": row.used_bytes}
        for row in await reporting.snapshot(db, day)
    }, day
