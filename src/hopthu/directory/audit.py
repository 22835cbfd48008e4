"""The append-only audit log: who did what to whom, when, why, on which document (R6, R13.4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.store.schema import audit_event


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    reason: str | None
    ref: str | None
    details: dict[str, Any] | None


async def record(
    conn: AsyncConnection,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str | None = None,
    reason: str | None = None,
    ref: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event, in the caller's transaction, so it exists exactly when the change does."""
    await conn.execute(
        sa.insert(audit_event).values(
            at=at, actor=actor, action=action, target=target, reason=reason, ref=ref, details=details
        )
    )


async def record_many(
    conn: AsyncConnection,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    events: Sequence[tuple[str | None, dict[str, Any] | None]],
) -> None:
    """`record` for one act done to many targets (a list of people registered together): one
    statement, each (target, details) its own event."""
    if events:
        await conn.execute(
            sa.insert(audit_event),
            [
                {
                    "at": at,
                    "actor": actor,
                    "action": action,
                    "target": t,
                    "reason": None,
                    "ref": None,
                    "details": d,
                }
                for t, d in events
            ],
        )


async def record_each(
    conn: AsyncConnection,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    events: Sequence[tuple[str | None, str | None, str | None, dict[str, Any] | None]],
) -> None:
    """`record_many` where each target has its own reason and document: (target, reason, ref,
    details) each, one statement."""
    if events:
        await conn.execute(
            sa.insert(audit_event),
            [
                {"at": at, "actor": actor, "action": action, "target": t, "reason": r, "ref": f, "details": d}
                for t, r, f, d in events
            ],
        )


async def events_for(conn: AsyncConnection, target: str | list[str], limit: int = 50) -> list[AuditEvent]:
    """The newest events about `target` (or any of several names of the same thing)."""
    targets = [target] if isinstance(target, str) else target
    rows = await conn.execute(
        sa.select(
            audit_event.c.at,
            audit_event.c.actor,
            audit_event.c.action,
            audit_event.c.target,
            audit_event.c.reason,
            audit_event.c.ref,
            audit_event.c.details,
        )
        .where(audit_event.c.target.in_(targets))
        .order_by(audit_event.c.id.desc())
        .limit(limit)
    )
    return [AuditEvent(*row) for row in rows]
