"""Figures for the portal's overview (R9.3): accounts by status and storage against quota, for the
whole city or an agency manager's subtree. Read from the account and usage rows (one per mailbox,
kept exact by delivery), never from the messages.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import account, mail_usage


@dataclass(frozen=True, slots=True)
class Overview:
    by_status: dict[str, int]
    personal: int
    agency: int
    used_bytes: int
    quota_bytes: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


async def overview(db: Database, within: Collection[int] | None = None) -> Overview:
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
        if status in ("active", "locked"):
            used += int(bytes_used)
            quota += int(bytes_allowed)
    return Overview(by_status, kinds["personal"], kinds["agency"], used, quota)
