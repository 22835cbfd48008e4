"""Delegation of agency mailboxes to people (R8.2): read and send-as rights without a shared password.
The grants are kept here; which may be made and which mailboxes a delegate still opens is
`policy.delegation`."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.accounts import AccountService
from hopthu.directory.context import DirectoryContext
from hopthu.policy.delegation import check_delegation, delegate_may_open
from hopthu.policy.lifecycle import Status
from hopthu.policy.mailbox import MailboxKind
from hopthu.store.db import Database
from hopthu.store.events import rights_changed
from hopthu.store.schema import account, delegation


@dataclass(frozen=True, slots=True)
class DelegatedMailbox:
    account_id: int
    local: str
    display_name: str
    can_send: bool
    status: str


_UNUSABLE = [status.value for status in Status if not delegate_may_open(status)]


async def delegated_to(db: Database, person_account_id: int) -> list[DelegatedMailbox]:
    """The agency mailboxes a person may use now (R8.2), by address: for IMAP's shared namespace and
    the webmail's mailbox switch."""
    rows = await db.tuples(_DELEGATED_TO, {"person": person_account_id})
    return [DelegatedMailbox(*row) for row in rows]


# Asked on every webmail page and IMAP sign-in: one statement object, so its compiled form is kept.
_DELEGATED_TO = (
    sa.select(account.c.id, account.c.local, account.c.display_name, delegation.c.can_send, account.c.status)
    .select_from(delegation.join(account, account.c.id == delegation.c.mailbox_account_id))
    .where(
        delegation.c.person_account_id == sa.bindparam("person"),
        delegation.c.can_read.is_(True),
        account.c.status.not_in(_UNUSABLE),
    )
    .order_by(account.c.local)
)


class DelegationService:
    def __init__(self, ctx: DirectoryContext, accounts: AccountService) -> None:
        self.ctx = ctx
        self.accounts = accounts

    async def grant(
        self, mailbox: str, person: str, *, can_send: bool, actor: str, ref: str | None = None
    ) -> None:
        """Let `person` use the agency mailbox `mailbox` (read always; send as it when `can_send`)."""
        box = await self.accounts.get(mailbox)
        who = await self.accounts.get(person)
        check_delegation(MailboxKind(box.kind), MailboxKind(who.kind))
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            await conn.execute(
                sa.delete(delegation).where(
                    delegation.c.mailbox_account_id == box.id, delegation.c.person_account_id == who.id
                )
            )
            await conn.execute(
                sa.insert(delegation).values(
                    mailbox_account_id=box.id,
                    person_account_id=who.id,
                    can_read=True,
                    can_send=can_send,
                    created_at=now,
                )
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="delegation.granted",
                target=box.local,
                ref=ref,
                details={"person": who.local, "can_send": can_send},
            )
        self.ctx.store.events.publish(rights_changed(box.id, who.id))

    async def delegates(self, mailbox: str) -> list[tuple[str, str, bool]]:
        """Who uses the agency mailbox: (address, display name, may send as it), by address."""
        box = await self.accounts.get(mailbox)
        rows = await self.ctx.store.db.all(
            sa.select(account.c.local, account.c.display_name, delegation.c.can_send)
            .select_from(delegation.join(account, account.c.id == delegation.c.person_account_id))
            .where(delegation.c.mailbox_account_id == box.id)
            .order_by(account.c.local)
        )
        return [(local, name, bool(can_send)) for local, name, can_send in rows]

    async def revoke(self, mailbox: str, person: str, *, actor: str, ref: str | None = None) -> None:
        box = await self.accounts.get(mailbox)
        who = await self.accounts.get(person)
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            await conn.execute(
                sa.delete(delegation).where(
                    delegation.c.mailbox_account_id == box.id, delegation.c.person_account_id == who.id
                )
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="delegation.revoked",
                target=box.local,
                ref=ref,
                details={"person": who.local},
            )
        # After the commit: sessions using the agency mailbox (IMAP IDLE included) lose it now.
        self.ctx.store.events.publish(rights_changed(box.id, who.id))
