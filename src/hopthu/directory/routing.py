"""Where an address leads: a local account, or another domain. The SMTP listeners ask this at RCPT
time, before any data is read.

Three kinds of domain are ours (R13.7): the main one and its flat aliases (`smtp.flat_domain_aliases`)
route by local part, to an account or an alias; a former province's domain (`smtp.domain_aliases`)
routes only through the person's own old address (`former_address`), whatever its local part, since
two people of two provinces may have shared one. Either way one prepared statement answers."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory.context import DirectoryContext
from hopthu.policy import lifecycle
from hopthu.store.schema import account, alias, former_address, mail_usage

# Built once: asked at every RCPT, so the statements are only bound, never constructed again.
_RECIPIENT = sa.select(
    account.c.id,
    account.c.local,
    account.c.status,
    account.c.quota_bytes,
    sa.func.coalesce(mail_usage.c.bytes, 0),
).select_from(account.outerjoin(mail_usage, mail_usage.c.account_id == account.c.id))
_LOOKUP = _RECIPIENT.where(
    sa.or_(
        account.c.local == sa.bindparam("local"),
        account.c.id
        == sa.select(alias.c.account_id).where(alias.c.local == sa.bindparam("local")).scalar_subquery(),
    )
).limit(1)
_FORMER = _RECIPIENT.where(
    account.c.id
    == sa.select(former_address.c.account_id)
    .where(former_address.c.address == sa.bindparam("address"))
    .scalar_subquery()
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
        smtp = ctx.settings.smtp
        self.former_domains = frozenset(d.lower() for d in smtp.domain_aliases)
        self.flat_domains = frozenset(
            {ctx.settings.server.domain.lower(), *(d.lower() for d in smtp.flat_domain_aliases)}
        )
        self.domains = self.flat_domains | self.former_domains

    def split(self, address: str) -> tuple[str, str]:
        local, _, domain = address.strip().rpartition("@")
        return local.lower(), domain.lower().rstrip(".")

    def is_local_domain(self, domain: str) -> bool:
        return domain.lower().rstrip(".") in self.domains

    def is_former_domain(self, domain: str) -> bool:
        """A former province's domain: its addresses route only per person (R13.7)."""
        return domain.lower().rstrip(".") in self.former_domains

    async def local(self, address: str) -> LocalRecipient | None:
        """The account mail for `address` reaches, or None (unknown here, or not our domain)."""
        local, domain = self.split(address)
        if not local:
            return None
        if domain in self.former_domains:
            row = await self.ctx.store.db.first(_FORMER, {"address": f"{local}@{domain}"})
        elif domain in self.flat_domains:
            row = await self.ctx.store.db.first(_LOOKUP, {"local": local})
        else:
            return None
        if row is None:
            return None
        return LocalRecipient(row[0], row[1], lifecycle.Status(row[2]), row[3], row[4])
