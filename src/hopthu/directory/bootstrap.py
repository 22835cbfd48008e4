"""The first run: the operator's agency and a first operator administrator (`hopthu init`)."""

from __future__ import annotations

from dataclasses import dataclass

from hopthu.directory.creation import create_account
from hopthu.directory.service import Directory

OPERATOR_AGENCY = "Sở Khoa học và Công nghệ"
ADMIN_LOCAL = "quantri"
ADMIN_NAME = "Quản trị hệ thống"


@dataclass(frozen=True, slots=True)
class FirstAdministrator:
    address: str
    temporary_password: str


async def bootstrap(directory: Directory, *, actor: str = "hopthu init") -> FirstAdministrator:
    """Create the operator agency (R9) and its first administrator, who must change the password."""
    operator = await directory.agencies.add(OPERATOR_AGENCY, actor=actor)
    async with directory.ctx.store.db.write() as conn:
        _, password = await create_account(
            directory.ctx,
            conn,
            local=ADMIN_LOCAL,
            kind="personal",
            display_name=f"{ADMIN_NAME} ({operator.name})",
            agency_id=operator.id,
            actor=actor,
        )
    await directory.roles.grant(ADMIN_LOCAL, "operator", actor=actor)
    return FirstAdministrator(f"{ADMIN_LOCAL}@{directory.ctx.settings.server.domain}", password)
