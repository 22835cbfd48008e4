"""Figures for the portal's overview (R9.3): accounts by status and storage against quota, for the
whole city or an agency manager's subtree. Read from the account and usage rows (one per mailbox,
kept exact by delivery), never from the messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.policy import lifecycle, passwords
from hopthu.store.db import Database
from hopthu.store.schema import account, mail_usage


@dataclass(frozen=True, slots=True)
class Overview:
    by_status: dict[str, int]
    personal: int
    agency: int
    used_bytes: int
    quota_bytes: int
    active_30_days: int = 0  # personal mailboxes used (IMAP, POP3, SMTP, webmail) in the last 30 days
    revoked_within_30_days: int = 0  # R6.5: unused for nearly 6 months
    passwords_expiring_14_days: int = 0  # R5.2: changed nearly 3 months ago

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


async def overview(
    db: Database,
    within: Collection[int] | None = None,
    *,
    now: dt.datetime | None = None,
    password_months: int = passwords.CHANGE_EVERY_MONTHS,
) -> Overview:
    """The figures, for the agencies `within` (None: the whole city)."""
    scope = [] if within is None else [account.c.agency_id.in_(sorted(within))]
    rows = await db.all(
        sa.select(
            account.c.status,
            account.c.kind,
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(mail_usage.c.bytes), 0),
            sa.func.coalesce(sa.func.sum(account.c.quota_bytes), 0),
        )
        .select_from(account.outerjoin(mail_usage, mail_usage.c.account_id == account.c.id))
        .where(*scope)
        .group_by(account.c.status, account.c.kind)
    )
    by_status: dict[str, int] = {}
    kinds = {"personal": 0, "agency": 0}
    used = quota = 0
    for status, kind, count, bytes_used, bytes_allowed in rows:
        by_status[status] = by_status.get(status, 0) + count
        kinds[kind] = kinds.get(kind, 0) + count
        if lifecycle.receives_mail(lifecycle.Status(status)):  # the mailboxes that hold mail
            used += int(bytes_used)
            quota += int(bytes_allowed)
    return Overview(
        by_status,
        kinds["personal"],
        kinds["agency"],
        used,
        quota,
        **await _coming(db, scope, now or dt.datetime.now(dt.UTC), password_months),
    )


async def _coming(db: Database, scope: list, now: dt.datetime, password_months: int) -> dict[str, int]:
    """What the figures of the next weeks will show: use, revocations, password changes due."""
    personal = [*scope, account.c.kind == "personal", account.c.status == "active"]
    last_use = sa.func.coalesce(account.c.last_access_at, account.c.created_at)
    unused_since = lifecycle.unused_since(now)
    password_since = passwords.changed_before(now, password_months)
    (row,) = await db.all(
        sa.select(
            sa.func.count().filter(account.c.last_access_at >= now - dt.timedelta(days=30)),
            sa.func.count().filter(last_use < unused_since + dt.timedelta(days=30)),
            sa.func.count().filter(account.c.password_changed_at < password_since + dt.timedelta(days=14)),
        ).where(*personal)
    )
    return {
        "active_30_days": row[0],
        "revoked_within_30_days": row[1],
        "passwords_expiring_14_days": row[2],
    }
