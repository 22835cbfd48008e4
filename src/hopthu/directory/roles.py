"""Who administers what (R9, R10.4, R13.4): operator administrators, helpdesk, agency mailbox
managers, auditors.

Operators see and do everything. Auditors read the audit and access records and change nothing
(R13.4). Helpdesk staff see every account, reset the passwords of ordinary
mailboxes (not of administrators: `policy.authority`) and answer tickets. An agency's mailbox-list
managers see the accounts of their agency and its sub-units, and act on them by filing requests the
operator decides (R7); nothing outside that subtree.

The operator gives and withdraws these roles (the console, the portal's roles page, the API), each act
audited; the last operator role of an active mailbox is never withdrawn, so someone can always give
the others back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import agencies, audit
from hopthu.directory.context import DirectoryContext
from hopthu.errors import Conflict, HopThuError, NotFound
from hopthu.policy import authority
from hopthu.store.db import Database
from hopthu.store.schema import account, agency, role_grant

ROLES = ("operator", "helpdesk", "agency_manager", "auditor")


class ReadsOnly(HopThuError):
    """An auditor's act refused (R13.4), in the portal and the API alike."""

    def __init__(self) -> None:
        super().__init__(
            "Vai trò kiểm tra, giám sát chỉ được xem, không thay đổi gì",
            "An auditor only reads and changes nothing",
            code="forbidden",
        )


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
    def reads_only(self) -> bool:
        """Whether they only read (an auditor and nothing else): every act is refused them (R13.4)."""
        return self.auditor and not (self.operator or self.helpdesk or self.agencies)

    @property
    def sees_everything(self) -> bool:
        return self.operator or self.helpdesk

    def covers(self, agency_id: int) -> bool:
        """Whether an account or request of this agency is theirs to see."""
        return self.sees_everything or agency_id in self.agencies


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """One role held by one person, as the operator's list shows it."""

    local: str
    name: str
    role: str
    agency_code: str | None
    created_at: dt.datetime

    def address(self, domain: str) -> str:
        return f"{self.local}@{domain}"


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
    if role == "agency_manager" and agency_code is None:
        raise HopThuError(
            "Cán bộ đầu mối (người quản lý danh sách hộp thư) cần gắn với một cơ quan",
            "An agency mailbox manager needs an agency",
        )
    if role != "agency_manager" and agency_code is not None:
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

    async def grants(self) -> list[RoleGrant]:
        """Every role held, by address then role (the operator's list)."""
        rows = await self.ctx.store.db.all(
            sa.select(
                account.c.local,
                account.c.display_name,
                role_grant.c.role,
                agency.c.code,
                role_grant.c.created_at,
            )
            .select_from(
                role_grant.join(account, account.c.id == role_grant.c.account_id).outerjoin(
                    agency, agency.c.id == role_grant.c.agency_id
                )
            )
            .order_by(account.c.local, role_grant.c.role, agency.c.code)
        )
        return [RoleGrant(*row) for row in rows]

    async def grant(
        self, address: str, role: str, *, agency_code: str | None = None, actor: str
    ) -> RoleGrant:
        """Give `role` to the mailbox at `address` (an agency manager's for `agency_code`); audited."""
        agency_code = _code(agency_code)
        check_role(role, agency_code)
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            account_id, local, name = await self._holder(conn, address)
            agency_id = await _agency_id(conn, agency_code)
            if await _grant_id(conn, account_id, role, agency_id) is not None:
                raise Conflict(
                    f"{local} đã giữ vai trò {role}" + (f" của {agency_code}" if agency_code else ""),
                    f"{local} already holds the role {role}" + (f" for {agency_code}" if agency_code else ""),
                )
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
        return RoleGrant(local, name, role, agency_code, now)

    async def revoke(self, address: str, role: str, *, agency_code: str | None = None, actor: str) -> None:
        """Withdraw a role; audited. The last operator role of an active mailbox stays: without it
        nobody could give roles back but the console."""
        agency_code = _code(agency_code)
        check_role(role, agency_code)
        async with self.ctx.store.db.write() as conn:
            account_id, local, _ = await self._holder(conn, address)
            agency_id = await _agency_id(conn, agency_code)
            grant_id = await _grant_id(conn, account_id, role, agency_id)
            if grant_id is None:
                raise NotFound(
                    f"{local} không giữ vai trò {role}" + (f" của {agency_code}" if agency_code else ""),
                    f"{local} does not hold the role {role}" + (f" for {agency_code}" if agency_code else ""),
                )
            if role == "operator" and not await _other_operator(conn, grant_id):
                raise Conflict(
                    "Không thể bỏ vai trò quản trị vận hành cuối cùng: hệ thống luôn cần một người vận hành",
                    "The last operator role cannot be withdrawn: the system always needs an operator",
                )
            await conn.execute(sa.delete(role_grant).where(role_grant.c.id == grant_id))
            await audit.record(
                conn,
                at=self.ctx.now(),
                actor=actor,
                action="role.revoked",
                target=local,
                details={"role": role, "agency": agency_code},
            )

    async def _holder(self, conn: AsyncConnection, address: str) -> tuple[int, str, str]:
        """The id, local part and name of the mailbox a role is given to or taken from."""
        from hopthu.directory.accounts import local_part  # accounts imports agencies, which imports us

        local = local_part(address, self.ctx.settings.server.domain)
        row = (
            await conn.execute(
                sa.select(account.c.id, account.c.local, account.c.display_name).where(
                    account.c.local == local
                )
            )
        ).first()
        if row is None:
            raise NotFound(f"Không có hộp thư '{address}'", f"No mailbox '{address}'")
        return row[0], row[1], row[2]

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


def _code(agency_code: str | None) -> str | None:
    """An agency code as typed (a form's empty field is no agency)."""
    return (agency_code or "").strip().lower() or None


async def _agency_id(conn: AsyncConnection, code: str | None) -> int | None:
    """The id of the agency a manager's role names (none for the other roles)."""
    return None if code is None else (await agencies.find(conn, code)).id


async def _grant_id(conn: AsyncConnection, account_id: int, role: str, agency_id: int | None) -> int | None:
    """The grant's id, if held (compared here: the unique key lets NULL agencies repeat)."""
    same_agency = (
        role_grant.c.agency_id.is_(None) if agency_id is None else role_grant.c.agency_id == agency_id
    )
    found = (
        await conn.execute(
            sa.select(role_grant.c.id).where(
                role_grant.c.account_id == account_id, role_grant.c.role == role, same_agency
            )
        )
    ).first()
    return found[0] if found else None


async def _other_operator(conn: AsyncConnection, grant_id: int) -> bool:
    """Whether an active mailbox holds an operator role other than this grant."""
    found = await conn.execute(
        sa.select(role_grant.c.id)
        .select_from(role_grant.join(account, account.c.id == role_grant.c.account_id))
        .where(role_grant.c.role == "operator", role_grant.c.id != grant_id, account.c.status == "active")
        .limit(1)
    )
    return found.first() is not None


_HOLDS_ANY = (
    sa.select(role_grant.c.account_id).where(role_grant.c.account_id == sa.bindparam("account")).limit(1)
)
