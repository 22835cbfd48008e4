"""Which addresses a signed-in person may send as (R3.2, R8.2): their own, their aliases, and the
agency mailboxes delegated to them with the right to send. This module finds the mailbox and the
delegation; `policy.sending.send_as_right` decides."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory.auth import Identity
from hopthu.directory.routing import Router
from hopthu.policy.sending import SendAsRight, send_as_right
from hopthu.store.schema import account, delegation


@dataclass(frozen=True, slots=True)
class SendAs:
    account_id: int  # the mailbox the mail is from
    address: str
    delegated: bool  # sent by a delegate, who is then named in Sender: (R8.3)


async def send_as(router: Router, identity: Identity, address: str) -> SendAs | None:
    """The mailbox `identity` sends from when it uses `address`, or None if it may not."""
    target = await router.local(address)
    if target is None:
        return None
    own = target.account_id == identity.account_id
    delegated = not own and await _delegated_to_send(router, target.account_id, identity.account_id)
    right = send_as_right(mailbox_status=target.status, own=own, delegated_to_send=delegated)
    if not right.allowed:
        return None
    return SendAs(target.account_id, address, delegated=right is SendAsRight.DELEGATED)


async def _delegated_to_send(router: Router, mailbox_account_id: int, person_account_id: int) -> bool:
    async with router.ctx.store.db.read() as conn:
        found = (
            await conn.execute(
                sa.select(delegation.c.id)
                .join(account, account.c.id == delegation.c.mailbox_account_id)
                .where(
                    delegation.c.mailbox_account_id == mailbox_account_id,
                    delegation.c.person_account_id == person_account_id,
                    delegation.c.can_send.is_(True),
                )
            )
        ).first()
    return found is not None
