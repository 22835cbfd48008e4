"""Who administers what (R9, R10.4): operator administrators, helpdesk, agency mailbox managers."""

from __future__ import annotations

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError
from hopthu.store.schema import account, agency, role_grant

ROLES = ("operator", "helpdesk", "agency_manager")


class RoleService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def grant(self, local: str, role: str, *, agency_code: str | None = None, actor: str) -> None:
        if role not in ROLES:
            raise HopThuError(f"Vai trò không hợp lệ: {role}", f"Unknown role: {role}")
        if (role == "agency_manager") != (agency_code is not None):
            raise HopThuError(
                "Chỉ người quản lý danh sách hộp thư gắn với một cơ quan",
                "Only an agency mailbox manager is tied to an agency",
            )
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            account_id = (
                await conn.execute(sa.select(account.c.id).where(account.c.local == local))
            ).scalar_one()
            agency_id = None
            if agency_code is not None:
                agency_id = (
                    await conn.execute(sa.select(agency.c.id).where(agency.c.code == agency_code))
                ).scalar_one()
            await conn.execute(
                sa.insert(role_grant).values(
                    account_id=account_id, role=role, agency_id=agency_id, created_at=now
                )
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="role.granted",
                target=local,
                details={"role": role, "agency": agency_code},
            )
