"""The one way an account row comes to exist: with its mail store, a temporary password and audit.

Accounts are created one at a time (an agency's own mailbox, the first operator) or many together (a
list of people approved as one batch, R10.3): the same statements either way, each a multi-row insert
for the whole list, so a batch of 500 people costs a handful of round trips, not four per person.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.policy.quota import default_quota
from hopthu.security.passwords import temporary_credentials
from hopthu.store.schema import account


@dataclass(frozen=True, slots=True)
class NewAccount:
    """What a new account is made of; the rest (password, dates, quota) is the system's."""

    local: str
    kind: str
    display_name: str
    agency_id: int
    family: str = ""
    middle: str = ""
    given: str = ""
    rank: int = 0
    registered_on: dt.date | None = None
    details: dict = field(default_factory=dict)  # for the audit event
    job_title: str | None = None  # cleaned already (`directory.jobtitle`)


async def new_credentials(count: int) -> list[tuple[str, str]]:
    """Temporary passwords and their hashes, made off the event loop: callers make them before
    opening the transaction, so no writer waits on hashing."""
    return await asyncio.to_thread(temporary_credentials, count)


async def create_account(
    ctx: DirectoryContext,
    conn: AsyncConnection,
    *,
    local: str,
    kind: str,
    display_name: str,
    agency_id: int,
    actor: str,
    family: str = "",
    middle: str = "",
    given: str = "",
    rank: int = 0,
    registered_on: dt.date | None = None,
    details: dict | None = None,
) -> tuple[int, str]:
    """Insert an account in the caller's transaction; return its id and its temporary password.

    The password must be changed at first use (R5.2); it is returned once and never stored in clear.
    """
    new = NewAccount(
        local, kind, display_name, agency_id, family, middle, given, rank, registered_on, details or {}
    )
    (created,) = await create_accounts(ctx, conn, [new], actor=actor, credentials=await new_credentials(1))
    return created


async def create_accounts(
    ctx: DirectoryContext,
    conn: AsyncConnection,
    accounts: Sequence[NewAccount],
    *,
    actor: str,
    credentials: Sequence[tuple[str, str]],
) -> list[tuple[int, str]]:
    """Insert accounts in the caller's transaction, each with its mail store and its audit event;
    return (id, temporary password) per account, in order. `credentials` are (password, hash) pairs
    from `new_credentials`, one per account."""
    assert len(credentials) == len(accounts)
    if not accounts:
        return []
    now = ctx.now()
    ids = (
        (
            await conn.execute(
                sa.insert(account).returning(account.c.id, sort_by_parameter_order=True),
                [
                    {
                        "local": new.local,
                        "kind": new.kind,
                        "family": new.family,
                        "middle": new.middle,
                        "given": new.given,
                        "display_name": new.display_name,
                        "agency_id": new.agency_id,
                        "rank": new.rank,
                        "job_title": new.job_title,
                        "password_hash": hashed,
                        "password_changed_at": now,
                        "must_change_password": True,
                        "quota_bytes": default_quota(new.kind, ctx.quota_rules),
                        "registered_on": new.registered_on or now.date(),
                        "created_at": now,
                    }
                    for new, (_, hashed) in zip(accounts, credentials, strict=True)
                ],
            )
        )
        .scalars()
        .all()
    )
    await ctx.store.mail.create_account_stores(conn, ids)
    await audit.record_many(
        conn,
        at=now,
        actor=actor,
        action="account.created",
        events=[(new.local, {"kind": new.kind, **new.details}) for new in accounts],
    )
    return [(account_id, password) for account_id, (password, _) in zip(ids, credentials, strict=True)]
