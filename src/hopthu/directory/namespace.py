"""The one address namespace shared by agencies, sub-units and people (R4): what is taken."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.store.schema import account, agency, alias


async def taken_locals(conn: AsyncConnection) -> set[str]:
    """Every local part in use: accounts of any status (deleted ones stay taken), aliases, agencies."""
    query = sa.union(sa.select(account.c.local), sa.select(alias.c.local), sa.select(agency.c.code))
    return set((await conn.execute(query)).scalars())
