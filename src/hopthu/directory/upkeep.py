"""What the regulation's daily jobs read about accounts, and the acts only they do (R5.1, R5.2, R6.3,
R6.5): each read is one query returning typed rows, so a job looks at every account once and asks
`policy` what is due; each act is one transaction with its audit event.

The jobs themselves (`hopthu.jobs.rules`) decide nothing about the regulation and touch no table.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import NamedTuple

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.policy.lifecycle import Action, Reason, Status, allowing, can_sign_in, receives_mail, transition
from hopthu.store.db import Database
from hopthu.store.schema import (
    account,
    agency,
    alias,
    delegation,
    former_address,
    mail_usage,
    mailbox,
    orphan_subscription,
    role_grant,
)


class PasswordAge(NamedTuple):
    """An active personal account's last password change (R5.2)."""

    id: int
    local: str
    password_changed_at: dt.datetime
    must_change_password: bool


class LastUse(NamedTuple):
    """A personal account that can still be revoked, with what revocation counts from (R6.5)."""

    id: int
    local: str
    agency_id: int
    created_at: dt.datetime
    last_access_at: dt.datetime | None


class Usage(NamedTuple):
    """A mailbox that receives mail, its quota and the bytes it uses (R5.1)."""

    id: int
    local: str
    kind: str
    quota_bytes: int
    used_bytes: int


class Ended(NamedTuple):
    """A revoked or deleted account whose data is still there (R6.3, R6.5)."""

    id: int
    local: str
    status: str


def _where(holds: Callable[[Status], bool]) -> list[Status]:
    """The states in which `holds` (a `policy.lifecycle` predicate) is true."""
    return [status for status in Status if holds(status)]


async def password_ages(db: Database) -> list[PasswordAge]:
    """Active personal accounts, for the expiry job (agency mailboxes are used through delegates)."""
    rows = await db.all(
        sa.select(
            account.c.id, account.c.local, account.c.password_changed_at, account.c.must_change_password
        ).where(account.c.kind == "personal", account.c.status.in_(_where(can_sign_in)))
    )
    return [PasswordAge._make(row) for row in rows]


async def last_uses(db: Database) -> list[LastUse]:
    """Active and locked personal accounts (R6.5: agency mailboxes are not revoked for disuse)."""
    rows = await db.all(
        sa.select(
            account.c.id, account.c.local, account.c.agency_id, account.c.created_at, account.c.last_access_at
        ).where(account.c.kind == "personal", account.c.status.in_(allowing(Action.REVOKE)))
    )
    return [LastUse._make(row) for row in rows]


async def agency_managers(db: Database) -> dict[int, list[str]]:
    """Each agency's mailbox managers (R10.4), those of the agencies above it included, by agency id."""
    tree = await db.all(sa.select(agency.c.id, agency.c.parent_id))
    parents: dict[int, int | None] = {agency_id: parent for agency_id, parent in map(tuple, tree)}
    direct: dict[int, list[str]] = defaultdict(list)
    for row in await db.all(
        sa.select(role_grant.c.agency_id, account.c.local)
        .select_from(role_grant.join(account, account.c.id == role_grant.c.account_id))
        .where(role_grant.c.role == "agency_manager", account.c.status == "active")
    ):
        agency_id, local = tuple(row)
        direct[agency_id].append(local)
    found: dict[int, list[str]] = {}
    for agency_id in parents:
        chain: list[str] = []
        node: int | None = agency_id
        seen: set[int] = set()
        while node is not None and node not in seen:
            seen.add(node)
            chain.extend(direct.get(node, []))
            node = parents.get(node)
        found[agency_id] = chain
    return found


async def usages(db: Database) -> list[Usage]:
    """Every mailbox that receives mail (active or locked), with its usage (R5.1)."""
    rows = await db.all(
        sa.select(account.c.id, account.c.local, account.c.kind, account.c.quota_bytes, mail_usage.c.bytes)
        .select_from(account.join(mail_usage, mail_usage.c.account_id == account.c.id))
        .where(account.c.status.in_(_where(receives_mail)))
    )
    return [Usage._make(row) for row in rows]


async def delegates(db: Database) -> dict[int, list[str]]:
    """The people delegated to each agency mailbox (R8.2), by the mailbox's account id."""
    found: dict[int, list[str]] = defaultdict(list)
    for row in await db.all(
        sa.select(delegation.c.mailbox_account_id, account.c.local).select_from(
            delegation.join(account, account.c.id == delegation.c.person_account_id)
        )
    ):
        box_id, local = tuple(row)
        found[box_id].append(local)
    return found


async def ended_before(db: Database, cutoff: dt.datetime) -> list[Ended]:
    """Revoked or deleted accounts not purged yet whose status changed at or before `cutoff`."""
    rows = await db.all(
        sa.select(account.c.id, account.c.local, account.c.status).where(
            account.c.status.in_(allowing(Action.PURGE)),
            account.c.purged_at.is_(None),
            account.c.status_changed_at <= cutoff,
        )
    )
    return [Ended._make(row) for row in rows]


async def mark_purged(db: Database, ended: Ended, *, now: dt.datetime, actor: str) -> None:
    """The account's folders go (their messages were expunged before) and it is recorded purged, in
    the state `policy.lifecycle` gives it (a revoked one becomes deleted, R6.5 decision), in one
    transaction with its audit event."""
    reason = Reason.RETENTION_ENDED
    after = transition(Status(ended.status), Action.PURGE, reason=reason, within_retention=False)
    async with db.write() as conn:
        await conn.execute(sa.delete(mailbox).where(mailbox.c.account_id == ended.id))
        await conn.execute(sa.delete(orphan_subscription).where(orphan_subscription.c.account_id == ended.id))
        values: dict[str, object] = {"purged_at": now}
        if after != ended.status:
            values.update(status=after.value, status_reason=reason.value, status_changed_at=now)
        await conn.execute(sa.update(account).where(account.c.id == ended.id).values(**values))
        await audit.record(
            conn, at=now, actor=actor, action="account.purged", target=ended.local, reason="retention_ended"
        )


async def release_addresses(db: Database, cutoff: dt.datetime, *, now: dt.datetime, actor: str) -> int:
    """Purged deleted accounts whose status changed at or before `cutoff` give their address back
    (R6.3): the account keeps its record under another name, its aliases go. How many did."""
    rows = await db.all(
        sa.select(account.c.id, account.c.local).where(
            account.c.status == "deleted",
            account.c.purged_at.is_not(None),
            account.c.status_changed_at <= cutoff,
            ~account.c.local.contains("~"),
        )
    )
    for row in rows:
        account_id, local = tuple(row)
        async with db.write() as conn:
            await conn.execute(
                sa.update(account).where(account.c.id == account_id).values(local=f"{local}~{account_id}")
            )
            await conn.execute(sa.delete(alias).where(alias.c.account_id == account_id))
            await conn.execute(sa.delete(former_address).where(former_address.c.account_id == account_id))
            await audit.record(conn, at=now, actor=actor, action="account.address_released", target=local)
    return len(rows)
