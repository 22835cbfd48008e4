"""Out-of-office replies sent (`vacation_reply`): when each account last answered each sender, so
a sender gets at most one automatic reply per period (RFC 3834 §3.1.7)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from hopthu.store import dialect
from hopthu.store.db import Database
from hopthu.store.schema import vacation_reply

SENDER_LENGTH = 320  # RFC 5321 §4.5.3.1: 64 + 1 + 255, what the column keeps


async def first_in_period(
    db: Database, account_id: int, sender: str, now: dt.datetime, period: dt.timedelta
) -> bool:
    """Record a reply to `sender` at `now` unless one went out within `period` before (one
    transaction, so two deliveries at once answer once); whether this one may go."""
    key = sender.lower()[:SENDER_LENGTH]
    async with db.write() as conn:
        last = (
            await conn.execute(
                sa.select(vacation_reply.c.replied_at).where(
                    vacation_reply.c.account_id == account_id, vacation_reply.c.sender == key
                )
            )
        ).scalar()
        if last is not None and now - last < period:
            return False
        statement = dialect.insert(db.backend, vacation_reply).values(
            account_id=account_id, sender=key, replied_at=now
        )
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[vacation_reply.c.account_id, vacation_reply.c.sender],
                set_={"replied_at": now},
            )
        )
    return True
