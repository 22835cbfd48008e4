"""Personal data breaches as the operator records them (R13.6): when one was discovered, what
happened, whom it touched; then when the authority was notified and when it was closed. The
72-hour deadline is `policy.breach`'s; every act is audited (`breach.*`, target `breach:<id>`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError, NotFound
from hopthu.policy import breach as rules
from hopthu.store.schema import personal_data_breach as table

DESCRIPTION_MAX = 5000
AFFECTED_MAX = 10_000  # addresses listed on one breach
CLOCK_SLACK = dt.timedelta(minutes=5)  # a discovery "now" typed on a clock a little ahead


@dataclass(frozen=True, slots=True)
class Breach:
    id: int
    discovered_at: dt.datetime
    description: str
    affected: list[str]
    affected_count: int
    recorded_by: str
    recorded_at: dt.datetime
    reported_at: dt.datetime | None
    closed_at: dt.datetime | None

    @property
    def open(self) -> bool:
        """Still counting down to the notification deadline (neither reported nor closed)."""
        return rules.counts_down(self.reported_at, self.closed_at)

    def standing(self, now: dt.datetime) -> rules.Standing:
        return rules.standing(self.discovered_at, now)

    def as_json(self, now: dt.datetime) -> dict:
        standing = self.standing(now)
        return {
            "id": self.id,
            "discovered_at": self.discovered_at.isoformat(),
            "description": self.description,
            "affected": self.affected,
            "affected_count": self.affected_count,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
            "reported_at": self.reported_at.isoformat() if self.reported_at else None,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "deadline": standing.deadline.isoformat(),
            "overdue": self.open and standing.overdue,
        }


def _breach(row: sa.Row) -> Breach:
    values = dict(row._mapping)
    values["affected"] = [line for line in values["affected"].splitlines() if line]
    return Breach(**values)


class BreachService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def record(
        self,
        *,
        discovered_at: dt.datetime,
        description: str,
        affected: list[str],
        affected_count: int | None,
        actor: str,
    ) -> Breach:
        now = self.ctx.now()
        description = description.strip()
        if not description:
            raise HopThuError("Cần mô tả sự cố.", "Describe the breach.", code="description_required")
        if len(description) > DESCRIPTION_MAX:
            raise HopThuError(
                f"Mô tả dài quá {DESCRIPTION_MAX} ký tự.",
                f"The description is over {DESCRIPTION_MAX} characters.",
            )
        if discovered_at.tzinfo is None:
            raise ValueError("discovered_at must be timezone-aware")
        if discovered_at > now + CLOCK_SLACK:
            raise HopThuError(
                "Thời điểm phát hiện ở tương lai.", "The moment of discovery is in the future.", code="future"
            )
        addresses = list(dict.fromkeys(a.strip().lower() for a in affected if a.strip()))[:AFFECTED_MAX]
        count = len(addresses) if affected_count is None else affected_count
        if count < len(addresses):
            raise HopThuError(
                "Số người bị ảnh hưởng ít hơn số địa chỉ đã liệt kê.",
                "The number affected is smaller than the addresses listed.",
                code="count",
            )
        async with self.ctx.store.db.write() as conn:
            new_id = (
                await conn.execute(
                    sa.insert(table)
                    .values(
                        discovered_at=discovered_at,
                        description=description,
                        affected="\n".join(addresses),
                        affected_count=count,
                        recorded_by=actor,
                        recorded_at=now,
                    )
                    .returning(table.c.id)
                )
            ).scalar_one()
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="breach.recorded",
                target=f"breach:{new_id}",
                details={"discovered_at": discovered_at.isoformat(), "affected_count": count},
            )
        return await self.get(new_id)

    async def get(self, breach_id: int) -> Breach:
        rows = await self.ctx.store.db.all(sa.select(table).where(table.c.id == breach_id))
        if not rows:
            raise NotFound(f"Không có sự cố số {breach_id}", f"No breach number {breach_id}")
        return _breach(rows[0])

    async def listing(self, *, limit: int = 200) -> list[Breach]:
        """The newest first."""
        rows = await self.ctx.store.db.all(sa.select(table).order_by(table.c.id.desc()).limit(limit))
        return [_breach(row) for row in rows]

    async def counting_down(self) -> list[Breach]:
        """Breaches neither reported nor closed, the earliest deadline first (the portal's home)."""
        rows = await self.ctx.store.db.all(
            sa.select(table)
            .where(table.c.reported_at.is_(None), table.c.closed_at.is_(None))
            .order_by(table.c.discovered_at)
        )
        return [_breach(row) for row in rows]

    async def reported(self, breach_id: int, *, actor: str, at: dt.datetime | None = None) -> Breach:
        """The authority was notified (at `at`, by default now)."""
        return await self._mark(breach_id, "reported_at", "breach.reported", actor=actor, at=at)

    async def close(self, breach_id: int, *, actor: str) -> Breach:
        return await self._mark(breach_id, "closed_at", "breach.closed", actor=actor, at=None)

    async def _mark(
        self, breach_id: int, column: str, action: str, *, actor: str, at: dt.datetime | None
    ) -> Breach:
        now = self.ctx.now()
        moment = at or now
        async with self.ctx.store.db.write() as conn:
            done = await conn.execute(
                sa.update(table)
                .where(table.c.id == breach_id, table.c[column].is_(None))
                .values({column: moment})
            )
            if done.rowcount == 0:
                await self.get(breach_id)  # NotFound when there is no such breach
                raise HopThuError(
                    f"Sự cố số {breach_id} đã được ghi nhận như vậy trước đó.",
                    f"Breach number {breach_id} was already marked so.",
                    code="already",
                )
            if action == "breach.reported":
                await audit.record(
                    conn,
                    at=now,
                    actor=actor,
                    action="breach.reported",
                    target=f"breach:{breach_id}",
                    details={"at": moment.isoformat()},
                )
            else:
                await audit.record(
                    conn, at=now, actor=actor, action="breach.closed", target=f"breach:{breach_id}"
                )
        return await self.get(breach_id)
