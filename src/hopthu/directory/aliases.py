"""Aliases: other addresses that reach the same mailbox (R6.2: the old address kept when it changes;
R4: aliases share the one namespace, so an alias is never issued to someone else)."""

from __future__ import annotations

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.accounts import AccountService
from hopthu.directory.context import DirectoryContext
from hopthu.directory.namespace import taken_locals
from hopthu.errors import NotFound
from hopthu.policy import lifecycle, naming
from hopthu.store.schema import account, alias


class AliasService:
    def __init__(self, ctx: DirectoryContext, accounts: AccountService) -> None:
        self.ctx = ctx
        self.accounts = accounts

    async def add(self, address: str, alias_local: str, *, actor: str, reason: str | None = None) -> None:
        """Let mail to `alias_local@domain` reach `address`'s mailbox."""
        owner = await self.accounts.get(address)
        local = alias_local.strip().lower().partition("@")[0]
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            naming.validate_local_part(local, await taken_locals(conn))
            await conn.execute(
                sa.insert(alias).values(local=local, account_id=owner.id, reason=reason, created_at=now)
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="alias.added",
                target=owner.local,
                reason=reason,
                details={"alias": local},
            )

    async def change_address(
        self, address: str, new_local: str, *, reason: str, ref: str | None, actor: str
    ) -> str:
        """R6.2: the mailbox takes a new address; the old one stays as an alias, so nothing sent to
        it is lost. Returns the new local part."""
        lifecycle.check_reason(lifecycle.Action.CHANGE, reason, ref)
        owner = await self.accounts.get(address)
        local = new_local.strip().lower().partition("@")[0]
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            naming.validate_local_part(local, await taken_locals(conn))
            await conn.execute(sa.update(account).where(account.c.id == owner.id).values(local=local))
            await conn.execute(
                sa.insert(alias).values(local=owner.local, account_id=owner.id, reason=reason, created_at=now)
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="account.address_changed",
                target=local,
                reason=reason,
                ref=ref.strip() if ref and ref.strip() else None,
                details={"from": owner.local, "to": local},
            )
        return local

    async def remove(self, alias_local: str, *, actor: str, reason: str | None = None) -> None:
        local = alias_local.strip().lower().partition("@")[0]
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            owner = (
                await conn.execute(
                    sa.delete(alias).where(alias.c.local == local).returning(alias.c.account_id)
                )
            ).scalar()
            if owner is None:
                raise NotFound(f"Không có bí danh '{local}'", f"No alias '{local}'")
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="alias.removed",
                target=local,
                reason=reason,
                details={"account_id": owner},
            )
