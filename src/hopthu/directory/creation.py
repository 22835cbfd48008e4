"""The one way an account row comes to exist: with its mail store, a temporary password and audit."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.policy.quota import default_quota
from hopthu.security.passwords import hash_temporary, temporary_password
from hopthu.store.schema import account


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
    now = ctx.now()
    password = temporary_password()
    account_id = (
        await conn.execute(
            sa.insert(account)
            .values(
                local=local,
                kind=kind,
                family=family,
                middle=middle,
                given=given,
                display_name=display_name,
                agency_id=agency_id,
                rank=rank,
                password_hash=hash_temporary(password),
                password_changed_at=now,
                must_change_password=True,
                quota_bytes=default_quota(kind, ctx.quota_rules),
                registered_on=registered_on or now.date(),
                created_at=now,
            )
            .returning(account.c.id)
        )
    ).scalar_one()
    await ctx.store.mail.create_account_store(conn, account_id)
    await audit.record(
        conn,
        at=now,
        actor=actor,
        action="account.created",
        target=local,
        details={"kind": kind, **(details or {})},
    )
    return account_id, password
