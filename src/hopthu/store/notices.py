"""The record of warnings sent by mail (`notice`): one row per (account, kind, key), so a warning
about one thing goes once even when its job runs again or another node takes over (R5.1, R5.2, R6.5).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from hopthu.store import dialect
from hopthu.store.db import Database
from hopthu.store.schema import notice


async def sent(db: Database, kind: str) -> defaultdict[int, set[str]]:
    """The keys of the notices of `kind` already sent, by account id (none: an empty set), in one query."""
    found: defaultdict[int, set[str]] = defaultdict(set)
    for row in await db.all(sa.select(notice.c.account_id, notice.c.key).where(notice.c.kind == kind)):
        account_id, key = tuple(row)
        found[account_id].add(key)
    return found


async def record(db: Database, account_id: int, kind: str, key: str, at: dt.datetime) -> None:
    """Remember that the notice went (a second record of the same one is no error)."""
    async with db.write() as conn:
        statement = dialect.insert(db.backend, notice).values(
            account_id=account_id, kind=kind, key=key, sent_at=at
        )
        await conn.execute(statement.on_conflict_do_nothing())


async def forget(db: Database, account_id: int, kind: str, keys: set[str]) -> None:
    """Let these notices go again (a mailbox back under a quota level)."""
    async with db.write() as conn:
        await conn.execute(
            sa.delete(notice).where(
                notice.c.account_id == account_id,
                notice.c.kind == kind,
                notice.c.key.in_(sorted(keys)),
            )
        )
