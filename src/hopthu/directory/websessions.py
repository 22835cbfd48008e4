"""Browser sessions (R11.4): created at sign-in, listed to their owner, ended one by one or all at once.
They belong to the directory (who is signed in where), beside the accounts whose last access they keep.

The cookie holds a random token; the database keeps only its SHA-256, so reading the database does
not let anyone in. A session ends after the idle minutes of the settings (R13.3: 30 by default; 15 for
a "public computer" one, which also ends when the browser closes, having no cookie lifetime, and 15
for anyone holding an administrative role, read with the session itself): `policy.sessions` decides.
`last_seen_at` is written at most once a minute per session, so browsing costs no write per page; with it the
account's last access (R6.5), so a person who stays signed in for months is not taken for one who never comes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.config import PolicySettings
from hopthu.policy.sessions import IdleLimits, session_expired
from hopthu.store.db import Database
from hopthu.store.schema import account, role_grant, web_session

TOUCH_EVERY = dt.timedelta(minutes=1)


def idle_limits(policy: PolicySettings) -> IdleLimits:
    """The settings' idle minutes (R13.3) as `policy.sessions` takes them."""
    return IdleLimits(
        user=dt.timedelta(minutes=policy.session_idle_minutes),
        public=dt.timedelta(minutes=policy.session_public_idle_minutes),
        administrator=dt.timedelta(minutes=policy.session_admin_idle_minutes),
    )


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class WebSession:
    id: str
    account_id: int
    public: bool
    must_change_password: bool
    user_agent: str
    address: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    second_factor_at: dt.datetime | None  # when an administrator proved their second factor here
    administrator: bool  # its account holds an administrative role (read with the session)

    def expired(self, now: dt.datetime, limits: IdleLimits) -> bool:
        """Idle too long at `now` (R13.3, R11.4: `policy.sessions` says how long)."""
        return session_expired(
            self.last_seen_at, now, limits, public=self.public, administrator=self.administrator
        )


class WebSessions:
    def __init__(self, db: Database, clock: Callable[[], dt.datetime], limits: IdleLimits) -> None:
        self.db = db
        self.clock = clock
        self.limits = limits

    async def create(
        self, account_id: int, *, public: bool, must_change_password: bool, user_agent: str, address: str
    ) -> str:
        """A new session; returns the token for the cookie (shown nowhere else)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.write() as conn:
            await conn.execute(
                sa.insert(web_session).values(
                    id=token_id(token),
                    account_id=account_id,
                    public=public,
                    must_change_password=must_change_password,
                    user_agent=user_agent[:300],
                    address=address[:64],
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return token

    async def find(self, token: str) -> WebSession | None:
        """The live session behind a cookie, touched; None when unknown, ended or idle too long."""
        rows = await self.db.all(_BY_ID, {"id": token_id(token)})
        if not rows:
            return None
        found = WebSession(**rows[0]._mapping)
        now = self.clock()
        if found.expired(now, self.limits):
            await self.end(found.id)
            return None
        if now - found.last_seen_at >= TOUCH_EVERY:
            async with self.db.write() as conn:
                await conn.execute(
                    sa.update(web_session).where(web_session.c.id == found.id).values(last_seen_at=now)
                )
                # Using the webmail is using the mailbox (R6.5), however long ago the sign-in was.
                await conn.execute(
                    sa.update(account)
                    .where(
                        account.c.id == found.account_id,
                        sa.or_(
                            account.c.last_access_at.is_(None), account.c.last_access_at < now - TOUCH_EVERY
                        ),
                    )
                    .values(last_access_at=now)
                )
        return found

    async def listing(self, account_id: int) -> list[WebSession]:
        """The account's live sessions, most recently used first (R11.4)."""
        rows = await self.db.all(
            _LIVE.where(web_session.c.account_id == account_id).order_by(web_session.c.last_seen_at.desc())
        )
        now = self.clock()
        return [s for s in (WebSession(**row._mapping) for row in rows) if not s.expired(now, self.limits)]

    async def password_changed(self, session_id: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(web_session)
                .where(web_session.c.id == session_id)
                .values(must_change_password=False)
            )

    async def second_factor_proved(self, session_id: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(web_session)
                .where(web_session.c.id == session_id)
                .values(second_factor_at=self.clock())
            )

    async def end(self, session_id: str, *, account_id: int | None = None) -> None:
        """End one session (when `account_id` is given, only if it is that account's)."""
        query = sa.update(web_session).where(web_session.c.id == session_id, web_session.c.ended_at.is_(None))
        if account_id is not None:
            query = query.where(web_session.c.account_id == account_id)
        async with self.db.write() as conn:
            await conn.execute(query.values(ended_at=self.clock()))

    async def end_all(self, account_id: int, *, keep: str | None = None) -> int:
        """End every session of the account (but `keep`); how many were ended."""
        query = sa.update(web_session).where(
            web_session.c.account_id == account_id, web_session.c.ended_at.is_(None)
        )
        if keep is not None:
            query = query.where(web_session.c.id != keep)
        async with self.db.write() as conn:
            return (await conn.execute(query.values(ended_at=self.clock()))).rowcount


_LIVE = sa.select(
    web_session.c.id,
    web_session.c.account_id,
    web_session.c.public,
    web_session.c.must_change_password,
    web_session.c.user_agent,
    web_session.c.address,
    web_session.c.created_at,
    web_session.c.last_seen_at,
    web_session.c.second_factor_at,
    # Whether the person holds a role: the same statement, so finding a session costs no more reads.
    sa.exists().where(role_grant.c.account_id == web_session.c.account_id).label("administrator"),
).where(web_session.c.ended_at.is_(None))
_BY_ID = _LIVE.where(web_session.c.id == sa.bindparam("id"))
