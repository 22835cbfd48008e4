"""An account's standing as the mail protocols need it, looked up by id on the primary key: its
lifecycle status (may the person still use what a session opened, R6), its quota (R5.1; the store
only counts usage) and whether the app password a session signed in with is still there. Each is
one indexed read that a long-lived IMAP or POP3 session repeats, so each is a single point query
answered without a transaction (`Database.first`).
"""

from __future__ import annotations

import sqlalchemy as sa

from hopthu.store.db import Database
from hopthu.store.schema import account, app_password


async def account_status(db: Database, account_id: int) -> str | None:
    """The account's lifecycle status (`policy.lifecycle.Status` values), None if it is gone."""
    row = await db.first(_STATUS, {"account": account_id})
    return None if row is None else str(row[0])


async def app_password_live(db: Database, app_password_id: int) -> bool:
    """Whether the app password is still there (revoked ones are deleted)."""
    return await db.first(_APP_PASSWORD, {"app_password": app_password_id}) is not None


async def quota_limit(db: Database, account_id: int) -> int:
    """The account's quota in bytes (R5.1), 0 if it is gone."""
    row = await db.first(_QUOTA, {"account": account_id})
    return int(row[0]) if row else 0


_STATUS = sa.select(account.c.status).where(account.c.id == sa.bindparam("account"))
_APP_PASSWORD = sa.select(app_password.c.id).where(app_password.c.id == sa.bindparam("app_password"))
_QUOTA = sa.select(account.c.quota_bytes).where(account.c.id == sa.bindparam("account"))
