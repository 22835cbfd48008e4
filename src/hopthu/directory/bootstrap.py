"""The first run: the operator's agency and a first operator administrator (`hopthu init`)."""

from __future__ import annotations

from dataclasses import dataclass

from hopthu.directory.creation import create_account
from hopthu.directory.service import Directory
from hopthu.smtp.notices import HELPDESK

OPERATOR_AGENCY = "Sở Khoa học và Công nghệ"
ADMIN_LOCAL = "quantri"
ADMIN_NAME = "Quản trị hệ thống"
HELPDESK_NAME = "Hỗ trợ thư điện tử"


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
        # The helpdesk mailbox (R7): mail to it becomes tickets; the first administrator reads it.
        await create_account(
            directory.ctx,
            conn,
            local=HELPDESK,
            kind="agency",
            display_name=f"{HELPDESK_NAME} ({operator.name})",
            agency_id=operator.id,
            actor=actor,
        )
    await directory.roles.grant(ADMIN_LOCAL, "operator", actor=actor)
    await directory.delegations.grant(HELPDESK, ADMIN_LOCAL, can_send=True, actor=actor)
    return FirstAdministrator(f"{ADMIN_LOCAL}@{directory.ctx.settings.server.domain}", password)
