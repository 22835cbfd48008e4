"""Old addresses per person (R13.7): Cần Thơ took in the former Sóc Trăng and Hậu Giang provinces, and
their people's addresses there (`smtp.domain_aliases`) must keep reaching them, each the one person who
had it. A flat domain alias cannot do that: `nvminh@soctrang.gov.vn` and `nvminh@haugiang.gov.vn` were
two people, and neither need be `nvminh@cantho.gov.vn`. So each old address is a row of its own,
`former_address` (the whole address in lower case → the account it now reaches), added one at a time
or from a list (`directory.formerimport`), every change audited like an alias.

The same rows let a person sign in with the old address until `former.signin_until` (`auth`), and
remember which senders were told the new address (`former_notice`), so one is told once per period.
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import audit
from hopthu.directory.accounts import AccountService
from hopthu.directory.context import DirectoryContext
from hopthu.errors import Conflict, HopThuError, NotFound
from hopthu.store import dialect
from hopthu.store.db import Database
from hopthu.store.schema import account, agency, former_address, former_notice

ADDRESS_LENGTH = 320  # RFC 5321 §4.5.3.1: what the column keeps
LOCAL_LENGTH = 64
# A dot-atom local part (RFC 5322 §3.2.3) as the former systems issued them: letters, digits and a
# few marks, dots only between them. Linear: the dot separates runs that cannot contain it.
_LOCAL = re.compile(r"[a-z0-9_+\-]+(?:\.[a-z0-9_+\-]+)*")
SOURCES = ("import", "manual")
LIST_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class FormerAddress:
    """An old address and the account it reaches now."""

    address: str
    account_id: int
    local: str  # the account's address now, its local part
    display_name: str
    agency: str  # the account's agency code
    source: str
    reason: str | None
    created_at: dt.datetime

    def as_json(self, domain: str) -> dict:
        return {
            "former_address": self.address,
            "address": f"{self.local}@{domain}",
            "display_name": self.display_name,
            "agency": self.agency,
            "source": self.source,
            "reason": self.reason,
            "created_at": self.created_at.isoformat(),
        }


def old_address(text: str, former_domains: Iterable[str]) -> str:
    """`text` as an old address: whole, in lower case, at one of the former provinces' domains; a
    bilingual refusal otherwise (no domain, another domain, a local part no system issued)."""
    address = text.strip().lower()[: ADDRESS_LENGTH + 1]
    local, at, domain = address.rpartition("@")
    domain = domain.rstrip(".")
    domains = sorted({d.lower() for d in former_domains})
    if not at or not local:
        example = domains[0] if domains else "…"
        raise HopThuError(
            f"'{text.strip()[:80]}' không phải địa chỉ thư đầy đủ (cần dạng ten@{example})",
            f"'{text.strip()[:80]}' is not a whole address (expected name@{example})",
        )
    if domain not in domains:
        listed = ", ".join(domains) or "—"
        raise HopThuError(
            f"Địa chỉ '{address[:80]}' không thuộc miền của tỉnh cũ ({listed})",
            f"The address '{address[:80]}' is not at a former province's domain ({listed})",
        )
    if len(local) > LOCAL_LENGTH or not _LOCAL.fullmatch(local):
        raise HopThuError(
            f"Phần tên của địa chỉ '{address[:80]}' không hợp lệ",
            f"The name part of the address '{address[:80]}' is not valid",
        )
    return f"{local}@{domain}"


_SELECT = sa.select(
    former_address.c.address,
    former_address.c.account_id,
    account.c.local,
    account.c.display_name,
    agency.c.code,
    former_address.c.source,
    former_address.c.reason,
    former_address.c.created_at,
).select_from(
    former_address.join(account, account.c.id == former_address.c.account_id).join(
        agency, agency.c.id == account.c.agency_id
    )
)


def _former(row: sa.Row) -> FormerAddress:
    return FormerAddress(*tuple(row))


class FormerAddressService:
    def __init__(self, ctx: DirectoryContext, accounts: AccountService) -> None:
        self.ctx = ctx
        self.accounts = accounts

    @property
    def domains(self) -> tuple[str, ...]:
        """The former provinces' domains (`smtp.domain_aliases`)."""
        return tuple(d.lower() for d in self.ctx.settings.smtp.domain_aliases)

    def checked(self, text: str) -> str:
        return old_address(text, self.domains)

    async def add(
        self, old: str, new: str, *, actor: str, source: str = "manual", reason: str | None = None
    ) -> FormerAddress:
        """Let mail to the old address `old` reach the account `new` (its address or local part)."""
        address = self.checked(old)
        owner = await self.accounts.get(new)
        try:
            async with self.ctx.store.db.write() as conn:
                taken = await _owner_of(conn, address)
                if taken is not None:
                    raise _taken(address, taken)
                await self.add_rows(
                    conn, [(address, owner.id, owner.local)], actor=actor, source=source, reason=reason
                )
        except IntegrityError:  # added by someone else between the check and the insert
            raise _taken(address, "?") from None
        found = await self.find(address)
        assert found is not None
        return found

    async def add_rows(
        self,
        conn: AsyncConnection,
        pairs: Sequence[tuple[str, int, str]],
        *,
        actor: str,
        source: str,
        reason: str | None = None,
    ) -> None:
        """Insert (old address, account id, account local) rows and their audit events in the caller's
        transaction: one statement each, however many rows."""
        if not pairs:
            return
        now = self.ctx.now()
        await conn.execute(
            sa.insert(former_address),
            [
                {
                    "address": address,
                    "account_id": account_id,
                    "source": source,
                    "reason": reason,
                    "created_at": now,
                }
                for address, account_id, _ in pairs
            ],
        )
        await audit.record_many(
            conn,
            at=now,
            actor=actor,
            action="former_address.added",
            events=[(local, {"former_address": address, "how": source}) for address, _, local in pairs],
        )

    async def remove(self, old: str, *, actor: str, reason: str | None = None) -> None:
        address = old.strip().lower()[:ADDRESS_LENGTH]
        async with self.ctx.store.db.write() as conn:
            owner = await _owner_of(conn, address)
            if owner is None:
                raise NotFound(f"Không có địa chỉ cũ '{address}'", f"No old address '{address}'")
            await conn.execute(sa.delete(former_address).where(former_address.c.address == address))
            await audit.record(
                conn,
                at=self.ctx.now(),
                actor=actor,
                action="former_address.removed",
                target=owner,
                reason=reason,
                details={"former_address": address},
            )

    async def find(self, old: str) -> FormerAddress | None:
        address = old.strip().lower()[:ADDRESS_LENGTH]
        rows = await self.ctx.store.db.all(_SELECT.where(former_address.c.address == address))
        return _former(rows[0]) if rows else None

    async def list(
        self,
        *,
        agency_code: str | None = None,
        search: str = "",
        limit: int = LIST_LIMIT,
        offset: int = 0,
    ) -> list[FormerAddress]:
        """Old addresses in address order, of one agency's people or matching `search` (a part of the
        old address or of the account's own local part)."""
        query = _SELECT
        if agency_code:
            query = query.where(agency.c.code == agency_code.strip().lower())
        words = search.strip().lower()[:ADDRESS_LENGTH]
        if words:
            pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(
                sa.or_(
                    former_address.c.address.like(pattern, escape="\\"),
                    account.c.local.like(pattern, escape="\\"),
                )
            )
        query = (
            query.order_by(former_address.c.address).limit(max(1, min(limit, 10 * LIST_LIMIT))).offset(offset)
        )
        return [_former(row) for row in await self.ctx.store.db.all(query)]

    async def of_account(self, account_id: int) -> builtins.list[str]:
        """The old addresses that reach one account."""
        rows = await self.ctx.store.db.all(
            sa.select(former_address.c.address)
            .where(former_address.c.account_id == account_id)
            .order_by(former_address.c.address)
        )
        return [str(row[0]) for row in rows]

    async def owners(self, addresses: Iterable[str]) -> dict[str, str]:
        """Which of `addresses` are recorded already, and the local part of the account each reaches."""
        wanted = sorted(set(addresses))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = await self.ctx.store.db.all(
                sa.select(former_address.c.address, account.c.local)
                .join(account, account.c.id == former_address.c.account_id)
                .where(former_address.c.address.in_(chunk))
            )
            found.update((str(a), str(local)) for a, local in rows)
        return found


async def _owner_of(conn: AsyncConnection, address: str) -> str | None:
    return (
        await conn.execute(
            sa.select(account.c.local)
            .join(former_address, former_address.c.account_id == account.c.id)
            .where(former_address.c.address == address)
        )
    ).scalar()


def _taken(address: str, owner: str) -> Conflict:
    return Conflict(
        f"Địa chỉ cũ '{address}' đã được ghi cho hộp thư '{owner}'",
        f"The old address '{address}' is already recorded for the mailbox '{owner}'",
    )


async def local_of(db: Database, address: str) -> str | None:
    """The local part of the account an old address (whole, lower case) reaches, or None."""
    rows = await db.all(
        sa.select(account.c.local)
        .join(former_address, former_address.c.account_id == account.c.id)
        .where(former_address.c.address == address)
    )
    return str(rows[0][0]) if rows else None


async def first_notice(
    db: Database, sender: str, address: str, now: dt.datetime, period: dt.timedelta
) -> bool:
    """Record that `sender` is told the new address behind `address` at `now`, unless they were told
    within `period` before (one transaction: two deliveries at once tell once); whether to tell."""
    sender = sender.lower()[:ADDRESS_LENGTH]
    address = address.lower()[:ADDRESS_LENGTH]
    async with db.write() as conn:
        last = (
            await conn.execute(
                sa.select(former_notice.c.told_at).where(
                    former_notice.c.sender == sender, former_notice.c.address == address
                )
            )
        ).scalar()
        if last is not None and now - last < period:
            return False
        statement = dialect.insert(db.backend, former_notice).values(
            sender=sender, address=address, told_at=now
        )
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[former_notice.c.sender, former_notice.c.address], set_={"told_at": now}
            )
        )
    return True


async def forget_notices(db: Database, before: dt.datetime) -> int:
    """Forget the senders told before `before` (the start of the current notice period): such a
    record no longer holds a notice back, so the table keeps only the pairs of one period, however
    many senders write to old addresses over the years. How many were forgotten."""
    async with db.write() as conn:
        done = await conn.execute(sa.delete(former_notice).where(former_notice.c.told_at < before))
    return int(done.rowcount or 0)
