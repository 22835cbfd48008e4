"""Which messages are new to IMAP: the `\\Recent` flag of RFC 3501 §2.3.2, kept as one number.

A message is recent in exactly one session, the first read-write session to learn of it after it
arrived. Each mailbox keeps `recent_uid`, the first UID no session has claimed yet: a message with a
UID at or above it is recent to whoever claims it next. A session claims by moving the number up to
just past the last UID it knows, so two sessions never both see a message as recent; the range it
moved over is its own. On PostgreSQL (one node or several) that is a transaction locking the mailbox
row; SQLite's one process decides it in memory and writes it soon after (below). The number
outlives connections and processes, as Dovecot's `first_recent_uid` does.
"""

from __future__ import annotations

import weakref

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import mailbox, message

_FLOOR = (  # PostgreSQL's claim: the row locked while it is decided
    sa.select(mailbox.c.recent_uid, mailbox.c.uidvalidity)
    .where(mailbox.c.id == sa.bindparam("box"))
    .with_for_update()
)
_MOVE = sa.update(mailbox).where(mailbox.c.id == sa.bindparam("box")).values(recent_uid=sa.bindparam("upto"))
_STORED = sa.select(mailbox.c.recent_uid, mailbox.c.uidvalidity).where(mailbox.c.id == sa.bindparam("box"))
_RAISE = (
    sa.update(mailbox)
    .where(
        mailbox.c.id == sa.bindparam("box"),
        mailbox.c.uidvalidity == sa.bindparam("validity"),
        mailbox.c.recent_uid < sa.bindparam("upto"),
    )
    .values(recent_uid=sa.bindparam("upto"))
)
_COUNT = sa.select(sa.func.count()).where(
    message.c.mailbox_id == sa.bindparam("box"), message.c.uid >= sa.bindparam("floor")
)


async def claim(db: Database, mailbox_id: int, uidvalidity: int, upto: int) -> tuple[int, int] | None:
    """Claim the unclaimed UIDs below `upto` for one session: the range [low, upto) now recent to
    it, or None when another session (or an earlier claim) already took them all. `uidvalidity` is
    the mailbox's as the session knows it (a mailbox made again may have the same id)."""
    if db.backend == "sqlite":
        return await _claim_in_process(db, (mailbox_id, uidvalidity), upto)

    def transaction(conn: sa.Connection) -> tuple[int, int] | None:
        row = conn.execute(_FLOOR, {"box": mailbox_id}).first()
        if row is None or row.uidvalidity != uidvalidity or row.recent_uid >= upto:
            return None
        floor = int(row.recent_uid)
        conn.execute(_MOVE, {"box": mailbox_id, "upto": upto})
        return floor, upto

    return await db.run_in_writer(transaction)


# SQLite is served by one process, so the claim is decided there, in memory, with nothing awaited
# between reading a mailbox's floor and moving it: no two sessions can take the same UIDs. The new
# floor is written in the next shared transaction without anyone waiting for it. A crash may lose the
# last claims, and those messages are then \Recent once more to the next session, which RFC 3501
# §2.3.2 prefers to none ("SHOULD be considered recent" when it cannot be told). A claim was the
# commonest write of a busy IMAP server (every SELECT and every arrival), each waiting for a commit.
REMEMBERED = 200_000  # mailboxes whose floor is kept in memory (a few MB at most)
# Keyed by (mailbox id, UIDVALIDITY): SQLite may give a deleted mailbox's id to the next one made.
_floors: weakref.WeakKeyDictionary[Database, dict[tuple[int, int], int]] = weakref.WeakKeyDictionary()


async def _claim_in_process(db: Database, key: tuple[int, int], upto: int) -> tuple[int, int] | None:
    floors = _floors.setdefault(db, {})
    if len(floors) >= REMEMBERED and key not in floors:
        # Bounded: the rows hold every floor written, so the cost is one read each. A claim whose
        # write has not landed yet may be claimed again: \Recent twice, as after a crash.
        floors.clear()
    if key not in floors:
        row = await db.first(_STORED, {"box": key[0]})
        if row is None or int(row[1]) != key[1]:
            return None  # gone, or made again since the session opened it
        floors.setdefault(key, int(row[0]))  # another claim may have read it meanwhile
    floor = floors[key]
    if floor >= upto:
        return None
    floors[key] = upto
    params = {"box": key[0], "validity": key[1], "upto": upto}
    db.write_soon(lambda conn: conn.execute(_RAISE, params))
    return floor, upto


def floor(db: Database, mailbox_id: int, uidvalidity: int, stored: int) -> int:
    """The first unclaimed UID of a mailbox, given the one read from its row: claims of this
    process not yet written count too."""
    return max(stored, _floors.get(db, {}).get((mailbox_id, uidvalidity), stored))


async def count(db: Database, mailbox_id: int, floor: int) -> int:
    """How many messages of the mailbox no session has claimed (STATUS RECENT)."""
    row = await db.first(_COUNT, {"box": mailbox_id, "floor": floor})
    return int(row[0]) if row is not None else 0
