"""Counting mail per day and agency (R9.3) without a write per message: the pipeline adds to
counters in memory, and they are added to `traffic_day` every minute and when the server stops, in
one transaction. A crash loses at most the last minute's counts, never a message.

Received: one per mailbox a message was stored in. Sent: one per message a person of ours sent
(submission or webmail), to their agency. Blocked: messages refused at the door as forged (DMARC).
Protection's counts (`PROTECTION_KINDS`): one per message and agency of the accounts concerned (the
recipients of inbound mail, the sender of outbound), agency 0 when none is known.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import NamedTuple

import sqlalchemy as sa

from hopthu.policy.dates import VIETNAM
from hopthu.store import dialect
from hopthu.store.db import Database
from hopthu.store.schema import account, traffic_day

log = logging.getLogger("hopthu.traffic")
OUTSIDE = 0
FLUSH_SECONDS = 60.0
LOOKUP_CHUNK = 500  # accounts asked about in one query (a bound on its parameters)
KINDS = ("received", "sent", "blocked")
# What protection turned away or set aside (R13.2), counted once per message and agency concerned.
PROTECTION_KINDS = ("spam_refused", "spam_junk", "malware_refused", "dangerous_refused", "held_outbound")
ALL_KINDS = KINDS + PROTECTION_KINDS


class Traffic:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock
        self._counts: Counter[tuple[dt.date, int, str]] = Counter()
        self._agencies: dict[int, int] = {}  # account → agency, learnt once a day per account
        self._learnt_on: dt.date | None = None

    def _today(self) -> dt.date:
        return self.clock().astimezone(VIETNAM).date()

    async def _agencies_of(self, account_ids: Iterable[int]) -> list[int]:
        """Each account's agency, in order; those not yet known today are looked up in one query on
        their first message of the day (a person who moved agency counts under the new one from the
        next day; delivery pays no lookup otherwise, and a circular to 500 people pays one)."""
        today = self._today()
        if today != self._learnt_on:
            self._agencies.clear()
            self._learnt_on = today
        wanted = list(account_ids)
        unknown = sorted({a for a in wanted if a not in self._agencies})
        for start in range(0, len(unknown), LOOKUP_CHUNK):
            chunk = unknown[start : start + LOOKUP_CHUNK]
            rows = await self.db.tuples(_AGENCIES, {"ids": chunk})
            found = {int(row[0]): row[1] for row in rows}
            for account_id in chunk:
                agency_id = found.get(account_id)
                self._agencies[account_id] = OUTSIDE if agency_id is None else int(agency_id)
        return [self._agencies[a] for a in wanted]

    async def received(self, account_ids: Iterable[int]) -> None:
        today = self._today()
        for agency_id in await self._agencies_of(account_ids):
            self._counts[(today, agency_id, "received")] += 1

    async def sent(self, account_id: int) -> None:
        (agency_id,) = await self._agencies_of([account_id])
        self._counts[(self._today(), agency_id, "sent")] += 1

    def blocked(self) -> None:
        self._counts[(self._today(), OUTSIDE, "blocked")] += 1

    async def protection(self, kind: str, account_ids: Iterable[int]) -> None:
        """One message `kind` (of PROTECTION_KINDS), counted once for each agency concerned."""
        assert kind in PROTECTION_KINDS, kind
        today = self._today()
        agencies = set(await self._agencies_of(account_ids)) or {OUTSIDE}
        for agency_id in agencies:
            self._counts[(today, agency_id, kind)] += 1

    async def flush(self) -> None:
        """Add what was counted since the last flush to the table."""
        if not self._counts:
            return
        counts, self._counts = self._counts, Counter()
        rows: dict[tuple[dt.date, int], dict[str, int]] = {}
        for (day, agency_id, kind), count in counts.items():
            rows.setdefault((day, agency_id), dict.fromkeys(ALL_KINDS, 0))[kind] += count
        try:
            async with self.db.write() as conn:
                for (day, agency_id), values in sorted(rows.items()):
                    statement = dialect.insert(self.db.backend, traffic_day).values(
                        day=day, agency_id=agency_id, **values
                    )
                    await conn.execute(
                        statement.on_conflict_do_update(
                            index_elements=[traffic_day.c.day, traffic_day.c.agency_id],
                            set_={kind: traffic_day.c[kind] + statement.excluded[kind] for kind in ALL_KINDS},
                        )
                    )
        except Exception:
            self._counts.update(counts)  # kept for the next try
            raise

    async def run(self) -> None:
        """Flush every minute until cancelled (then once more)."""
        try:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                try:
                    await self.flush()
                except Exception:
                    log.exception("mail counts not written; kept for the next minute")
        finally:
            await self.flush()


async def per_day(
    db: Database, since: dt.date, until: dt.date, within: Iterable[int] | None = None
) -> dict[dt.date, dict[str, int]]:
    """The counts of each day from `since` to `until` (both included), for the agencies `within`."""
    query = (
        sa.select(
            traffic_day.c.day,
            sa.func.sum(traffic_day.c.received),
            sa.func.sum(traffic_day.c.sent),
            *(sa.func.sum(traffic_day.c[kind]) for kind in ALL_KINDS[2:]),
        )
        .where(traffic_day.c.day >= since, traffic_day.c.day <= until)
        .group_by(traffic_day.c.day)
    )
    if within is not None:
        query = query.where(traffic_day.c.agency_id.in_(sorted(within)))
    found = {
        row[0]: dict(zip(ALL_KINDS, (int(v or 0) for v in row[1:]), strict=True))
        for row in await db.all(query)
    }
    days = (until - since).days + 1
    return {
        since + dt.timedelta(days=n): found.get(since + dt.timedelta(days=n), dict.fromkeys(ALL_KINDS, 0))
        for n in range(days)
    }


class TrafficTotal(NamedTuple):
    """An agency's mail over some days: received, sent, and each of `PROTECTION_KINDS` in order."""

    agency_id: int
    received: int
    sent: int
    protection: tuple[int, ...]


async def totals(db: Database, first: dt.date, last: dt.date) -> list[TrafficTotal]:
    """Each agency's counts from `first` to `last` (Vietnam's days, both included), for reports."""
    rows = await db.all(
        sa.select(
            traffic_day.c.agency_id,
            sa.func.sum(traffic_day.c.received),
            sa.func.sum(traffic_day.c.sent),
            *(sa.func.sum(traffic_day.c[kind]) for kind in PROTECTION_KINDS),
        )
        .where(traffic_day.c.day >= first, traffic_day.c.day <= last)
        .group_by(traffic_day.c.agency_id)
    )
    return [
        TrafficTotal(agency_id, int(received or 0), int(sent or 0), tuple(int(n or 0) for n in protection))
        for agency_id, received, sent, *protection in rows
    ]


_AGENCIES = sa.select(account.c.id, account.c.agency_id).where(
    account.c.id.in_(sa.bindparam("ids", expanding=True))
)
