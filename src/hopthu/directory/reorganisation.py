"""Agencies change (R4.4, R6.2, R6.3): renamed, merged into another, dissolved; and their declared
staff counts (R10.4). Each is one transaction, audited with its reason and document.

- Renamed: every display name in the agency follows (R4.4); addresses stay.
- Merged: its people and sub-units move to the other agency, their display names follow (R6.2); its
  own agency mailbox is deleted (R6.3, data kept through retention) and its address becomes an alias
  of the other agency's mailbox, so mail sent to the old address still arrives.
- Dissolved: every mailbox of the agency is deleted (R6.3), kept through retention, then purged.
  An agency with sub-units still working is not dissolved: they are merged or dissolved first.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import audit
from hopthu.directory.agencies import Agency, find
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError
from hopthu.policy import lifecycle, naming
from hopthu.store.schema import account, agency, alias

_LIVING = ("active", "locked", "revoked")


class Reorganisation:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def rename(self, code: str, name: str, *, ref: str, actor: str) -> Agency:
        name = " ".join(name.split())
        if not name:
            raise HopThuError("Tên cơ quan không được để trống", "The agency name must not be empty")
        lifecycle.check_reason(lifecycle.Action.CHANGE, lifecycle.Reason.AGENCY_RENAMED, ref)
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            found = await _working(conn, code)
            await conn.execute(sa.update(agency).where(agency.c.id == found.id).values(name=name))
            renamed = await _follow_names(conn, found.id, name)
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="agency.renamed",
                target=found.code,
                reason=lifecycle.Reason.AGENCY_RENAMED.value,
                ref=ref.strip(),
                details={"from": found.name, "to": name, "accounts": renamed},
            )
            return await find(conn, found.code)

    async def merge(self, code: str, into: str, *, ref: str, actor: str) -> Agency:
        lifecycle.check_reason(lifecycle.Action.CHANGE, lifecycle.Reason.AGENCY_MERGED, ref)
        now = self.ctx.now()
        reason = lifecycle.Reason.AGENCY_MERGED.value
        async with self.ctx.store.db.write() as conn:
            source, target = await _working(conn, code), await _working(conn, into)
            if source.id == target.id or source.id in await _ancestors(conn, target.id):
                raise HopThuError(
                    "Không sáp nhập được một cơ quan vào chính nó hoặc vào đơn vị trực thuộc của nó",
                    "An agency cannot be merged into itself or into one of its own sub-units",
                )
            moved = await conn.execute(
                sa.update(account)
                .where(account.c.agency_id == source.id, account.c.kind == "personal")
                .values(agency_id=target.id)
            )
            await _follow_names(conn, target.id, target.name)
            await conn.execute(
                sa.update(agency).where(agency.c.parent_id == source.id).values(parent_id=target.id)
            )
            own = (
                await conn.execute(
                    sa.select(account.c.id, account.c.status).where(
                        account.c.agency_id == source.id,
                        account.c.kind == "agency",
                        account.c.local == source.code,
                    )
                )
            ).first()
            target_box = (
                await conn.execute(
                    sa.select(account.c.id).where(account.c.kind == "agency", account.c.local == target.code)
                )
            ).scalar()
            if own is not None and target_box is not None:
                # The old mailbox keeps its data under another name; its address now reaches the target's.
                await conn.execute(
                    sa.update(account)
                    .where(account.c.id == own.id)
                    .values(
                        local=f"{source.code}.sapnhap{own.id}",
                        status=lifecycle.Status.DELETED.value if own.status in _LIVING else own.status,
                        status_reason=reason,
                        status_ref=ref.strip(),
                        status_changed_at=now,
                    )
                )
                await conn.execute(
                    sa.insert(alias).values(
                        local=source.code,
                        account_id=target_box,
                        reason=f"sáp nhập vào {target.code}",
                        created_at=now,
                    )
                )
            await conn.execute(
                sa.update(agency)
                .where(agency.c.id == source.id)
                .values(status="merged", merged_into=target.id)
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="agency.merged",
                target=source.code,
                reason=reason,
                ref=ref.strip(),
                details={"into": target.code, "accounts": moved.rowcount},
            )
            return await find(conn, target.code)

    async def dissolve(self, code: str, *, ref: str, actor: str) -> int:
        """Dissolve the agency; how many mailboxes were deleted."""
        reason = lifecycle.Reason.AGENCY_DISSOLVED
        lifecycle.check_reason(lifecycle.Action.DELETE, reason, ref)
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            found = await _working(conn, code)
            children = (
                (
                    await conn.execute(
                        sa.select(agency.c.code).where(
                            agency.c.parent_id == found.id, agency.c.status == "active"
                        )
                    )
                )
                .scalars()
                .all()
            )
            if children:
                raise HopThuError(
                    f"Cơ quan còn đơn vị trực thuộc đang hoạt động: {', '.join(children)}",
                    f"The agency still has working sub-units: {', '.join(children)}",
                )
            deleted = await conn.execute(
                sa.update(account)
                .where(account.c.agency_id == found.id, account.c.status.in_(_LIVING))
                .values(
                    status=lifecycle.Status.DELETED.value,
                    status_reason=reason.value,
                    status_ref=ref.strip(),
                    status_changed_at=now,
                )
            )
            await conn.execute(sa.update(agency).where(agency.c.id == found.id).values(status="dissolved"))
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="agency.dissolved",
                target=found.code,
                reason=reason.value,
                ref=ref.strip(),
                details={"accounts_deleted": deleted.rowcount},
            )
        return deleted.rowcount

    async def declare_staff(self, code: str, staff: int | None, *, actor: str) -> Agency:
        """R10.4: the staff an agency declares, held against its active mailboxes."""
        if staff is not None and not 0 <= staff <= 100_000:
            raise HopThuError("Số biên chế không hợp lệ", "The staff count is not valid")
        async with self.ctx.store.db.write() as conn:
            found = await _working(conn, code)
            await conn.execute(sa.update(agency).where(agency.c.id == found.id).values(staff_count=staff))
            await audit.record(
                conn,
                at=self.ctx.now(),
                actor=actor,
                action="agency.staff_declared",
                target=found.code,
                details={"from": found.staff_count, "to": staff},
            )
            return await find(conn, found.code)


async def _working(conn: AsyncConnection, code: str) -> Agency:
    found = await find(conn, code.strip().lower())
    if found.status != "active":
        raise HopThuError(
            f"Cơ quan '{found.code}' không còn hoạt động ({found.status})",
            f"Agency '{found.code}' is no longer working ({found.status})",
        )
    return found


async def _ancestors(conn: AsyncConnection, agency_id: int) -> set[int]:
    parents = dict((await conn.execute(sa.select(agency.c.id, agency.c.parent_id))).all())
    found: set[int] = set()
    node = parents.get(agency_id)
    while node is not None and node not in found:
        found.add(node)
        node = parents.get(node)
    return found


async def _follow_names(conn: AsyncConnection, agency_id: int, name: str) -> int:
    """R4.4: the display names of the agency's mailboxes, after its name or their agency changed."""
    rows = (
        await conn.execute(
            sa.select(
                account.c.id, account.c.kind, account.c.family, account.c.middle, account.c.given
            ).where(account.c.agency_id == agency_id)
        )
    ).all()
    for row in rows:
        shown = name if row.kind == "agency" else naming.display_name(row.family, row.middle, row.given, name)
        await conn.execute(sa.update(account).where(account.c.id == row.id).values(display_name=shown))
    return len(rows)
