"""Agencies and sub-units (R1.1, R4.1, R4.2): the tree, and each node's agency mailbox (R2.1)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import audit, roles
from hopthu.directory.context import DirectoryContext
from hopthu.directory.creation import create_account
from hopthu.directory.namespace import taken_locals
from hopthu.errors import HopThuError, NotFound
from hopthu.policy import naming
from hopthu.store.schema import account, agency

KINDS = ("agency", "subunit")


@dataclass(frozen=True, slots=True)
class Agency:
    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    status: str
    staff_count: int | None

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "parent": self.parent_code,
            "status": self.status,
            "staff_count": self.staff_count,
        }


def _not_found(code: str) -> NotFound:
    return NotFound(f"Không có cơ quan, đơn vị mã '{code}'", f"No agency with code '{code}'")


_parent = agency.alias("parent")
_SELECT = sa.select(
    agency.c.id,
    agency.c.code,
    agency.c.name,
    agency.c.kind,
    _parent.c.code,
    agency.c.status,
    agency.c.staff_count,
).select_from(agency.outerjoin(_parent, agency.c.parent_id == _parent.c.id))


async def find(conn: AsyncConnection, code: str) -> Agency:
    row = (await conn.execute(_SELECT.where(agency.c.code == code))).first()
    if row is None:
        raise _not_found(code)
    return Agency(*row)


class CodeTaken(HopThuError):
    """The address an administrator typed is taken (or not allowed): the naming policy's proposals
    come with the refusal, so the next try is one of them (R4.1, R4.2)."""

    def __init__(self, refusal: HopThuError, proposals: list[str]) -> None:
        offered = ", ".join(proposals)
        super().__init__(
            f"{refusal.vi} Đề xuất: {offered}" if proposals else refusal.vi,
            f"{refusal.en} Proposed: {offered}" if proposals else refusal.en,
            code=refusal.code,
        )
        self.proposals = proposals


def _typed_code(code: str, name: str, parent: str | None, taken: set[str]) -> str:
    """The address of an agency whose code an administrator typed. A sub-unit's code is its own part,
    joined to its agency's (R4.2: `tochuc` under `sonv` is `tochuc.sonv`); one that cannot be issued
    is refused with what the naming policy proposes for the name instead."""
    code = code.strip().lower()
    if parent is not None and not code.endswith(f".{parent}"):
        code = f"{code}.{parent}"
    try:
        naming.validate_local_part(code, taken)
    except HopThuError as refusal:
        try:
            if parent is not None:
                proposals = naming.subunit_proposals(name, parent, taken)
            else:
                proposals = naming.agency_proposals(name, taken)
        except HopThuError:
            proposals = []
        raise CodeTaken(refusal, proposals[:3]) from None
    return code


class AgencyService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def add(
        self,
        name: str,
        *,
        code: str | None = None,
        parent: str | None = None,
        kind: str | None = None,
        staff_count: int | None = None,
        actor: str,
    ) -> Agency:
        """Create an agency or sub-unit and its agency mailbox, with the address R4.1/R4.2 give."""
        name = " ".join(name.split())
        if not name:
            raise HopThuError("Tên cơ quan không được để trống", "The agency name must not be empty")
        kind = kind or ("subunit" if parent else "agency")
        if kind not in KINDS:
            raise HopThuError(
                f"Loại không hợp lệ: {kind} (agency hoặc subunit)",
                f"Invalid kind: {kind} (agency or subunit)",
            )
        if kind == "subunit" and not parent:
            raise HopThuError(
                "Đơn vị trực thuộc cần --parent (mã cơ quan cấp trên)",
                "A sub-unit needs --parent (the code of its agency)",
            )
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            parent_row = await find(conn, parent) if parent else None
            taken = await taken_locals(conn)
            if code is not None:
                joined_to = parent_row.code if parent_row and kind == "subunit" else None
                code = _typed_code(code, name, joined_to, taken)
            elif kind == "subunit":
                assert parent_row is not None
                code = naming.subunit_proposals(name, parent_row.code, taken)[0]
            else:
                code = naming.agency_proposals(name, taken)[0]
            agency_id = (
                await conn.execute(
                    sa.insert(agency)
                    .values(
                        code=code,
                        name=name,
                        kind=kind,
                        parent_id=parent_row.id if parent_row else None,
                        staff_count=staff_count,
                        created_at=now,
                    )
                    .returning(agency.c.id)
                )
            ).scalar_one()
            # The agency's own mailbox (R2.1), used by its delegates (R8.2): its password is never shown.
            await create_account(
                self.ctx, conn, local=code, kind="agency", display_name=name, agency_id=agency_id, actor=actor
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="agency.created",
                target=code,
                details={"name": name, "kind": kind, "parent": parent},
            )
            return await find(conn, code)

    async def subunit_proposals(self, name: str, parent: str, *, requested: str | None = None) -> list[str]:
        """The addresses a new sub-unit of `parent` could have now (R4.2), best first; `requested`
        is the part the agency asked for, first when it is free."""
        async with self.ctx.store.db.read() as conn:
            return naming.subunit_proposals(name, parent, await taken_locals(conn), requested=requested)

    async def list(self) -> list[Agency]:
        async with self.ctx.store.db.read() as conn:
            rows = await conn.execute(_SELECT.order_by(agency.c.code))
            return [Agency(*row) for row in rows]

    async def active_mailboxes(self) -> dict[int, int]:
        """Active personal mailboxes per agency id, to hold against the declared staff (R10.4)."""
        rows = await self.ctx.store.db.all(
            sa.select(account.c.agency_id, sa.func.count())
            .where(account.c.kind == "personal", account.c.status == "active")
            .group_by(account.c.agency_id)
        )
        return dict(rows)

    async def subtree(self, agency_id: int) -> frozenset[int]:
        """The agency and every sub-unit below it."""
        parents = dict(await self.ctx.store.db.all(sa.select(agency.c.id, agency.c.parent_id)))
        return roles.subtree(parents, {agency_id})

    async def history(self, code: str, limit: int = 30) -> list[audit.AuditEvent]:
        """What was done to the agency (and to its agency mailbox, which bears its code)."""
        async with self.ctx.store.db.read() as conn:
            return await audit.events_for(conn, code, limit)

    async def get(self, code: str) -> Agency:
        async with self.ctx.store.db.read() as conn:
            return await find(conn, code)
