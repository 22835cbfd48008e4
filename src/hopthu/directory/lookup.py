"""Single facts about a mailbox looked up by its exact local part (no alias followed), for services
outside the directory that need one: the helpdesk's own account, the agency a sender belongs to.
"""

from __future__ import annotations

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import account, agency


async def account_id(db: Database, local: str) -> int | None:
    """The id of the account whose own address (not an alias) has the local part `local`, or None:
    also how a backup's database and the live one name the same mailbox."""
    rows = await db.all(sa.select(account.c.id).where(account.c.local == local))
    return int(rows[0][0]) if rows else None


async def agency_code(db: Database, local: str) -> str | None:
    """The code of the agency the account `local` belongs to, or None when there is no such account."""
    rows = await db.all(
        sa.select(agency.c.code)
        .select_from(account.join(agency, agency.c.id == account.c.agency_id))
        .where(account.c.local == local)
    )
    return str(rows[0][0]) if rows else None
