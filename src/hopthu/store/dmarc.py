"""DMARC's tables: what the MX judged (`dmarc_tally`), the aggregate reports we sent (`dmarc_sent`)
and those we received about our domains (`dmarc_report`).

The tally is counted like `traffic`: in memory by the pipeline, added to the table every minute and
when the server stops, in one transaction, so the MX pays no write per message. A crash loses at
most a minute of counts (a report slightly short), never a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import astuple
from typing import Any

import sqlalchemy as sa

from hopthu.policy.dates import VIETNAM
from hopthu.protection.aggregate import Evaluation, Row
from hopthu.protection.feedback import Summary
from hopthu.store import dialect
from hopthu.store.db import Database
from hopthu.store.schema import dmarc_report, dmarc_sent, dmarc_tally

log = logging.getLogger("hopthu.dmarc")
FLUSH_SECONDS = 60.0
MAX_PENDING = 50_000  # distinct rows kept between two flushes; past it a flush is due at once
ARC_RESULTS = ("allow", "reject", "invalid", "dnsfail", "none")


_KEY: tuple[str, ...] = ("domain", "source_ip", "disposition", "dkim", "spf", "spf_domain", "spf_result")
_KEY += ("dkim_domain", "dkim_result", "arc")
_WIDTHS = {"domain": 255, "source_ip": 45, "spf_domain": 255, "dkim_domain": 255}


class DmarcTally:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime]) -> None:
        self.db = db
        self.clock = clock
        self._counts: Counter[tuple[dt.date, Evaluation]] = Counter()
        self._due = asyncio.Event()

    def count(self, evaluation: Evaluation) -> None:
        day = self.clock().astimezone(VIETNAM).date()
        self._counts[(day, evaluation)] += 1
        if len(self._counts) >= MAX_PENDING:
            self._due.set()

    async def flush(self) -> None:
        if not self._counts:
            return
        counts, self._counts = self._counts, Counter()
        try:
            async with self.db.write() as conn:
                for (day, evaluation), count in sorted(
                    counts.items(), key=lambda kv: (kv[0][0], astuple(kv[0][1]))
                ):
                    values = {
                        name: value[: _WIDTHS.get(name, 12)]
                        for name, value in zip(_KEY, astuple(evaluation), strict=True)
                    }
                    statement = dialect.insert(self.db.backend, dmarc_tally).values(
                        day=day, count=count, **values
                    )
                    await conn.execute(
                        statement.on_conflict_do_update(
                            index_elements=[dmarc_tally.c.day, *(dmarc_tally.c[name] for name in _KEY)],
                            set_={"count": dmarc_tally.c.count + statement.excluded.count},
                        )
                    )
        except Exception:
            self._counts.update(counts)
            raise

    async def run(self) -> None:
        """Flush every minute (or when the pending rows reach their bound) until cancelled."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._due.wait(), FLUSH_SECONDS)
                self._due.clear()
                try:
                    await self.flush()
                except Exception:
                    log.exception("DMARC counts not written; kept for the next minute")
        finally:
            await self.flush()


async def day_rows(db: Database, day: dt.date, *, limit_domains: int) -> dict[str, list[Row]]:
    """The day's evaluations per author domain (ARC summed away), most frequent rows first; at most
    `limit_domains` domains, those with the most mail."""
    top = (
        sa.select(dmarc_tally.c.domain)
        .where(dmarc_tally.c.day == day)
        .group_by(dmarc_tally.c.domain)
        .order_by(sa.func.sum(dmarc_tally.c["count"]).desc(), dmarc_tally.c.domain)
        .limit(limit_domains)
    )
    domains = [name for (name,) in await db.all(top)]
    if not domains:
        return {}
    columns = [dmarc_tally.c[name] for name in _KEY if name != "arc"]
    rows = await db.all(
        sa.select(*columns, sa.func.sum(dmarc_tally.c["count"]))
        .where(dmarc_tally.c.day == day, dmarc_tally.c.domain.in_(domains))
        .group_by(*columns)
    )
    found: dict[str, list[Row]] = defaultdict(list)
    for (
        domain,
        source_ip,
        disposition,
        dkim,
        spf,
        spf_domain,
        spf_result,
        dkim_domain,
        dkim_result,
        n,
    ) in rows:
        found[domain].append(
            Row(source_ip, int(n), disposition, dkim, spf, spf_domain, spf_result, dkim_domain, dkim_result)
        )
    for listed in found.values():
        listed.sort(key=lambda row: (-row.count, row.source_ip))
    return dict(found)


async def reported(db: Database, day: dt.date) -> set[str]:
    """The domains whose report of `day` was already dealt with."""
    return {name for (name,) in await db.all(sa.select(dmarc_sent.c.domain).where(dmarc_sent.c.day == day))}


async def record_sent(
    db: Database,
    *,
    day: dt.date,
    domain: str,
    at: dt.datetime,
    report_id: str,
    status: str,
    recipients: list[str],
    messages: int,
    records: int,
) -> None:
    async with db.write() as conn:
        statement = dialect.insert(db.backend, dmarc_sent).values(
            day=day,
            domain=domain,
            sent_at=at,
            report_id=report_id[:100],
            status=status,
            recipients=", ".join(recipients)[:2000],
            messages=messages,
            records=records,
        )
        await conn.execute(statement.on_conflict_do_nothing())


async def last_sent(db: Database, limit: int = 50) -> list[sa.Row[*tuple[Any, ...]]]:
    return await db.all(
        sa.select(dmarc_sent).order_by(dmarc_sent.c.sent_at.desc(), dmarc_sent.c.domain).limit(limit)
    )


async def save_report(db: Database, summary: Summary, received_at: dt.datetime) -> bool:
    """Keep a received report's summary; False when the same organisation's report id was seen."""
    begin = summary.begin or received_at
    async with db.write() as conn:
        statement = dialect.insert(db.backend, dmarc_report).values(
            received_at=received_at,
            org_name=summary.org_name,
            report_id=summary.report_id,
            domain=summary.domain,
            begin_at=begin,
            end_at=summary.end or begin,
            messages=summary.messages,
            passed=summary.passed,
            failed=summary.failed,
            sources=summary.sources,
        )
        result = await conn.execute(
            statement.on_conflict_do_nothing(
                index_elements=[dmarc_report.c.org_name, dmarc_report.c.report_id]
            )
        )
    return bool(result.rowcount)


async def received_reports(
    db: Database, since: dt.datetime, limit: int = 200
) -> list[sa.Row[*tuple[Any, ...]]]:
    return await db.all(
        sa.select(dmarc_report)
        .where(dmarc_report.c.received_at >= since)
        .order_by(dmarc_report.c.begin_at.desc(), dmarc_report.c.org_name)
        .limit(limit)
    )


async def arc_per_day(db: Database, since: dt.date, until: dt.date) -> dict[dt.date, dict[str, int]]:
    """Forwarded mail per day by its ARC result (`ARC_RESULTS`), days without any left out."""
    rows = await db.all(
        sa.select(dmarc_tally.c.day, dmarc_tally.c.arc, sa.func.sum(dmarc_tally.c["count"]))
        .where(dmarc_tally.c.day >= since, dmarc_tally.c.day <= until, dmarc_tally.c.arc != "")
        .group_by(dmarc_tally.c.day, dmarc_tally.c.arc)
    )
    found: dict[dt.date, dict[str, int]] = {}
    for day, arc, count in rows:
        found.setdefault(day, dict.fromkeys(ARC_RESULTS, 0))[arc] = int(count)
    return dict(sorted(found.items(), reverse=True))
