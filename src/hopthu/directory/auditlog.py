"""Reading the audit log back (R6, R13.4): the portal's page of events, newest first, and the
export for an inspection, both filtered by who, what (a dotted prefix), on whom and when.

Writing stays in `directory.audit` (`record`, in the caller's transaction); this module only reads,
a page at a time by id on the primary key, so a deep page costs what the first one does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import audit_event


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """What the reader asked for; None does not filter. Days are the local days' starts."""

    actor: str | None = None
    action_prefix: str | None = None
    target: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One event as the log shows it, with its id (the page's cursor and the export's number)."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    reason: str | None
    ref: str | None
    details: dict[str, Any] | None


_COLUMNS = (
    audit_event.c.id,
    audit_event.c.at,
    audit_event.c.actor,
    audit_event.c.action,
    audit_event.c.target,
    audit_event.c.reason,
    audit_event.c.ref,
    audit_event.c.details,
)


def _conditions(wanted: AuditFilter) -> list[sa.ColumnElement[bool]]:
    found: list[sa.ColumnElement[bool]] = []
    if wanted.actor is not None:
        found.append(audit_event.c.actor == wanted.actor)
    if wanted.action_prefix is not None:
        found.append(audit_event.c.action.startswith(wanted.action_prefix, autoescape=True))
    if wanted.target is not None:
        found.append(audit_event.c.target == wanted.target)
    if wanted.since:
        found.append(audit_event.c.at >= wanted.since)
    if wanted.until:
        found.append(audit_event.c.at < wanted.until)
    return found


async def newest(db: Database, wanted: AuditFilter, *, before: int | None, limit: int) -> list[AuditRow]:
    """Up to `limit` matching events, newest first, with ids below `before` when it is given."""
    query = sa.select(*_COLUMNS).where(*_conditions(wanted))
    if before is not None:
        query = query.where(audit_event.c.id < before)
    rows = await db.all(query.order_by(audit_event.c.id.desc()).limit(limit))
    return [AuditRow(**row._mapping) for row in rows]


async def oldest_first(db: Database, wanted: AuditFilter, *, limit: int) -> list[AuditRow]:
    """Up to `limit` matching events in the order they happened (the export)."""
    query = sa.select(*_COLUMNS).where(*_conditions(wanted)).order_by(audit_event.c.id).limit(limit)
    rows = await db.all(query)
    return [AuditRow(**row._mapping) for row in rows]
