"""Who administers what (R9, R10.4, R13.4): operator administrators, helpdesk, agency mailbox
managers, auditors.

Operators see and do everything. Auditors read the audit and access records and change nothing
(R13.4). Helpdesk staff see every account, reset the passwords of ordinary
mailboxes (not of administrators: `policy.authority`) and answer tickets. An agency's mailbox-list
managers see the accounts of their agency and its sub-units, and act on them by filing requests the
operator decides (R7); nothing outside that subtree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError
from hopthu.policy import authority
from hopthu.store.db import Database
from hopthu.store.schema import account, agency, role_grant

ROLES = ("operator", "helpdesk", "agency_manager", "auditor")


@dataclass(frozen=True, slots=True)
class Powers:
    """What one person may do in the administration portal."""

    operator: bool = False
    helpdesk: bool = False
    auditor: bool = False
    agencies: frozenset[int] = frozenset()  # where they manage, sub-units included

    @property
    def administers(self) -> bool:
        return self.operator or self.helpdesk or self.auditor or bool(self.agencies)

    @property
    def roles(self) -> frozenset[str]:
        """The roles behind these powers, as `policy.authority` reads them."""
        held = {"operator"} if self.operator else set()
        held |= {"helpdesk"} if self.helpdesk else set()
        held |= {"agency_manager"} if self.agencies else set()
        held |= {"auditor"} if self.auditor else set()
        return frozenset(held)

    @property
    def reads_records(self) -> bool:
        """Whether they may read the audit and access records (R13.4: an operator or an auditor)."""
        return self.operator or self.auditor

    @property
    def sees_everything(self) -> bool:
        return self.operator or self.helpdesk

    def covers(self, agency_id: int) -> bool:
        """Whether an account or request of this agency is theirs to see."""
        return self.sees_everything or agency_id in self.agencies


def subtree(parents: dict[int, int | None], roots: set[int]) -> frozenset[int]:
    """`roots` and every agency below them, from a child → parent map."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for child, parent in parents.items():
        children[parent].append(child)
    found, waiting = set(), list(roots)
    while waiting:
        node = waiting.pop()
        if node not in found:
            found.add(node)
            waiting.extend(children[node])
    return frozenset(found)


def check_role(role: str, agency_code: str | None) -> None:
    """A role is one of `ROLES`, tied to an agency exactly when it is an agency manager's (for a
    person's grant and an integration's token alike)."""
    if role not in ROLES:
        raise HopThuError(f"Vai trò không hợp lệ: {role}", f"Unknown role: {role}")
    if (role == "agency_manager") != (agency_code is not None):
        raise HopThuError(
            "Chỉ vai trò người quản lý danh sách hộp thư gắn với một cơ quan",
            "Only an agency mailbox manager's role is tied to an agency",
        )


async def powers_of(db: Database, grants: list[tuple[str, int | None]]) -> Powers:
    """The powers (role, agency id) grants give: a manager's agencies include every sub-unit below."""
    roles = {role for role, _ in grants}
    managed = {agency_id for role, agency_id in grants if role == "agency_manager" and agency_id}
    agencies: frozenset[int] = frozenset()
    if managed:
        parents = dict(await db.all(sa.select(agency.c.id, agency.c.parent_id)))
        agencies = subtree(parents, managed)
    return Powers(
        operator="operator" in roles,
        helpdesk="helpdesk" in roles,
        auditor="auditor" in roles,
        agencies=agencies,
    )


class RoleService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def powers(self, account_id: int) -> Powers:
        db = self.ctx.store.db
        grants = await db.all(
            sa.select(role_grant.c.role, role_grant.c.agency_id).where(role_grant.c.account_id == account_id)
        )
        return await powers_of(db, list(grants))

    async def holds_any(self, account_id: int) -> bool:
        """Whether the account holds a portal role: asked on every webmail page (its header links
        administrators to the portal), so one kept statement reading the index only."""
        return await self.ctx.store.db.first(_HOLDS_ANY, {"account": account_id}) is not None

    async def roles_of(self, account_id: int) -> frozenset[str]:
        """The roles an account holds (empty for an ordinary mailbox)."""
        rows = await self.ctx.store.db.all(
            sa.select(role_grant.c.role).where(role_grant.c.account_id == account_id)
        )
        return frozenset(role for (role,) in rows)

    async def holders(self, role: str) -> list[str]:
        """The addresses of the active accounts holding `role` (who is told when something needs an
        operator, e.g. a protection engine that stopped answering)."""
        rows = await self.ctx.store.db.all(
            sa.select(account.c.local)
            .select_from(role_grant.join(account, account.c.id == role_grant.c.account_id))
            .where(role_grant.c.role == role, account.c.status == "active")
            .order_by(account.c.local)
        )
        domain = self.ctx.settings.server.domain
        return [f"{local}@{domain}" for (local,) in dict.fromkeys(rows)]

    async def may_reset_password(self, powers: Powers, account_id: int) -> bool:
        """Whether these powers may issue a temporary password to that account (`policy.authority`)."""
        return authority.may_reset_password(powers.roles, await self.roles_of(account_id))

    async def grant(self, local: str, role: str, *, agency_code: str | None = None, actor: str) -> None:
        check_role(role, agency_code)
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

    async def operators(self) -> list[str]:
        """The local parts of the operator's administrators whose mailboxes are active (those told
        of what the system did on its own: a message held, an account locked)."""
        return [address.rsplit("@", 1)[0] for address in await self.holders("operator")]

    async def managers_of(self, account_id: int) -> list[str]:
        """The active mailbox managers of an account's agency and of every agency above it."""
        db = self.ctx.store.db
        parents = dict(await db.all(sa.select(agency.c.id, agency.c.parent_id)))
        home = await db.all(sa.select(account.c.agency_id).where(account.c.id == account_id))
        chain: list[int] = []
        node = home[0][0] if home else None
        while node is not None and node not in chain:
            chain.append(node)
            node = parents.get(node)
        if not chain:
            return []
        rows = await db.all(
            sa.select(account.c.local)
            .select_from(role_grant.join(account, account.c.id == role_grant.c.account_id))
            .where(
                role_grant.c.role == "agency_manager",
                role_grant.c.agency_id.in_(chain),
                account.c.status == "active",
            )
            .order_by(account.c.local)
        )
        return list(dict.fromkeys(local for (local,) in rows))


_HOLDS_ANY = (
    sa.select(role_grant.c.account_id).where(role_grant.c.account_id == sa.bindparam("account")).limit(1)
)
