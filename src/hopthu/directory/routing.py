"""Where an address leads: a local account (by its address, an alias, or a domain alias, R13.7), or
another domain. The SMTP listeners ask this at RCPT time, before any data is read."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory.context import DirectoryContext
from hopthu.policy import lifecycle
from hopthu.store.schema import account, alias, mail_usage

# Built once: asked at every RCPT, so the statement is only bound, never constructed again.
_LOOKUP = (
    sa.select(
        account.c.id,
        account.c.local,
        account.c.status,
        account.c.quota_bytes,
        sa.func.coalesce(mail_usage.c.bytes, 0),
    )
    .select_from(account.outerjoin(mail_usage, mail_usage.c.account_id == account.c.id))
    .where(
        sa.or_(
            account.c.local == sa.bindparam("local"),
            account.c.id
            == sa.select(alias.c.account_id).where(alias.c.local == sa.bindparam("local")).scalar_subquery(),
        )
    )
    .limit(1)
)


@dataclass(frozen=True, slots=True)
class LocalRecipient:
    account_id: int
    local: str
    status: lifecycle.Status
    quota: int
    usage: int

    @property
    def receives(self) -> bool:
        return lifecycle.receives_mail(self.status)


class Router:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx
        server = ctx.settings.server
        self.domains = frozenset(
            {server.domain.lower(), *(d.lower() for d in ctx.settings.smtp.domain_aliases)}
        )

    def split(self, address: str) -> tuple[str, str]:
        local, _, domain = address.strip().rpartition("@")
        return local.lower(), domain.lower().rstrip(".")

    def is_local_domain(self, domain: str) -> bool:
        return domain.lower().rstrip(".") in self.domains

    async def local(self, address: str) -> LocalRecipient | None:
        """The account mail for `address` reaches, or None (unknown here, or not our domain)."""
        local, domain = self.split(address)
        if not self.is_local_domain(domain) or not local:
            return None
        row = await self.ctx.store.db.first(_LOOKUP, {"local": local})
        if row is None:
            return None
        return LocalRecipient(row[0], row[1], lifecycle.Status(row[2]), row[3], row[4])
