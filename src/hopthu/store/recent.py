"""Which messages are new to IMAP: the `\\Recent` flag of RFC 3501 §2.3.2, kept as one number.

A message is recent in exactly one session, the first read-write session to learn of it after it
arrived. Each mailbox keeps `recent_uid`, the first UID no session has claimed yet: a message with a
UID at or above it is recent to whoever claims it next. A session claims by moving the number up to
just past the last UID it knows, in one transaction that locks the mailbox row, so two sessions (on
one node or several) never both see a message as recent; the range it moved over is its own.
The number outlives connections and processes, as Dovecot's `first_recent_uid` does.
"""

from __future__ import annotations

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import mailbox, message

_FLOOR = (
    sa.select(mailbox.c.recent_uid).where(mailbox.c.id == sa.bindparam("box")).with_for_update()
)  # FOR UPDATE on PostgreSQL; SQLite writes one at a time anyway
_MOVE = sa.update(mailbox).where(mailbox.c.id == sa.bindparam("box")).values(recent_uid=sa.bindparam("upto"))
_COUNT = sa.select(sa.func.count()).where(
    message.c.mailbox_id == sa.bindparam("box"), message.c.uid >= sa.bindparam("floor")
)


async def claim(db: Database, mailbox_id: int, upto: int) -> tuple[int, int] | None:
    """Claim the unclaimed UIDs below `upto` for one session: the range [low, upto) now recent to
    it, or None when another session (or an earlier claim) already took them all. Run whole in the
    writer, so SQLite's write lock is not held across trips through the event loop."""

    def transaction(conn: sa.Connection) -> tuple[int, int] | None:
        floor = conn.execute(_FLOOR, {"box": mailbox_id}).scalar()
        if floor is None or floor >= upto:
            return None
        conn.execute(_MOVE, {"box": mailbox_id, "upto": upto})
        return floor, upto

    return await db.run_in_writer(transaction)


async def count(db: Database, mailbox_id: int, floor: int) -> int:
    """How many messages of the mailbox no session has claimed (STATUS RECENT)."""
    row = await db.first(_COUNT, {"box": mailbox_id, "floor": floor})
    return int(row[0]) if row is not None else 0
