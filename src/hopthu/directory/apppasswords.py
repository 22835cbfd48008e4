"""A person's app passwords (`policy.apppasswords` for the rules, `security.apppasswords` for the
secret and its keyed hash): made and revoked in the webmail's settings, checked at every IMAP, POP3
and SMTP sign-in by `directory.auth`, listed in a person's data export and erased with it.

Last use: the settings page shows when and from which address each app password was last used, so
that a person recognises one a stranger holds. Written on every sign-in it would be the hottest
write there is (a phone opens several IMAP connections at once, and reconnects all day; the stress
bench signs in thousands of times a minute). The sign-in reads the row anyway to find the app
password, so it is written only when the stored moment is a minute old or the address changed:
one write a minute per app password in use, and the page is never more than a minute behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.errors import Conflict, NotFound
from hopthu.policy import apppasswords as rules
from hopthu.security import apppasswords as secrets
from hopthu.security.secretbox import KEY_FILE, load_or_create
from hopthu.store.events import rights_changed
from hopthu.store.schema import account, app_password

TOUCH_EVERY = dt.timedelta(minutes=1)
SOURCE_MAX = 64  # app_password.last_used_from


@dataclass(frozen=True, slots=True)
class AppPassword:
    """An app password as its owner sees it: never its secret, which was shown once."""

    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    last_used_from: str


_SELECT = sa.select(
    app_password.c.id,
    app_password.c.name,
    app_password.c.created_at,
    app_password.c.last_used_at,
    app_password.c.last_used_from,
)
_MATCH = _SELECT.where(
    app_password.c.account_id == sa.bindparam("account"), app_password.c.secret_hash == sa.bindparam("digest")
)
_TOUCH = (
    sa.update(app_password)
    .where(app_password.c.id == sa.bindparam("app_password"))
    .values(last_used_at=sa.bindparam("now"), last_used_from=sa.bindparam("source"))
)


class AppPasswords:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx
        self._digester: secrets.Digester | None = None

    @property
    def digester(self) -> secrets.Digester:
        """Made on first use, so a process that never meets an app password never reads the key file."""
        if self._digester is None:
            self._digester = secrets.Digester(load_or_create(self.ctx.settings.path(KEY_FILE)))
        return self._digester

    @property
    def limit(self) -> int:
        return self.ctx.settings.policy.app_passwords_max

    async def listing(self, account_id: int) -> list[AppPassword]:
        rows = await self.ctx.store.db.all(
            _SELECT.where(app_password.c.account_id == account_id).order_by(app_password.c.id)
        )
        return [AppPassword(*row) for row in rows]

    async def create(self, account_id: int, name: str, *, actor: str) -> tuple[AppPassword, str]:
        """A new app password named `name`; returns it with its secret in groups of four, which is
        shown this once and stored nowhere (HopThuError in both languages on a bad name or past the
        limit)."""
        secret = secrets.generate()
        digest = self.digester.digest(account_id, secret)
        now = self.ctx.now()
        try:
            async with self.ctx.store.db.write() as conn:
                held = (
                    await conn.execute(
                        sa.select(app_password.c.name).where(app_password.c.account_id == account_id)
                    )
                ).scalars()
                cleaned = rules.check_name(name, held, limit=self.limit)
                made_id = (
                    await conn.execute(
                        sa.insert(app_password)
                        .values(account_id=account_id, name=cleaned, secret_hash=digest, created_at=now)
                        .returning(app_password.c.id)
                    )
                ).scalar_one()
                await audit.record(
                    conn,
                    at=now,
                    actor=actor,
                    action="app_password.created",
                    target=await _local(conn, account_id),
                    details={"name": cleaned},
                )
        except IntegrityError:  # the same name made at the same moment in another window
            raise Conflict(
                "Mật khẩu ứng dụng tên này vừa được tạo; hãy chọn tên khác",
                "An app password of this name was just made; choose another name",
            ) from None
        return AppPassword(made_id, cleaned, now, None, ""), secrets.shown(secret)

    async def revoke(self, account_id: int, app_password_id: int, *, actor: str) -> None:
        """The person's app password stops working at once (NotFound if it is not theirs or gone)."""
        async with self.ctx.store.db.write() as conn:
            name = (
                await conn.execute(
                    sa.delete(app_password)
                    .where(app_password.c.id == app_password_id, app_password.c.account_id == account_id)
                    .returning(app_password.c.name)
                )
            ).scalar()
            if name is None:
                raise NotFound(
                    "Không có mật khẩu ứng dụng này (có thể đã bị thu hồi)",
                    "No such app password (it may have been revoked already)",
                )
            await audit.record(
                conn,
                at=self.ctx.now(),
                actor=actor,
                action="app_password.revoked",
                target=await _local(conn, account_id),
                details={"name": name},
            )
        # After the commit: IMAP sessions signed in with it (a lost phone's IDLE) end now.
        self.ctx.store.events.publish(rights_changed(account_id))

    async def match(self, account_id: int, typed: str) -> AppPassword | None:
        """The account's app password that `typed` is, by one keyed hash and one indexed lookup; None
        when `typed` cannot be one or is none of theirs."""
        letters = secrets.candidate(typed)
        if letters is None:
            return None
        digest = self.digester.digest(account_id, letters)
        rows = await self.ctx.store.db.all(_MATCH, {"account": account_id, "digest": digest})
        return AppPassword(*rows[0]) if rows else None

    async def used(self, found: AppPassword, source: str) -> None:
        """Note a successful sign-in with `found` from `source`, at most once a minute (see above)."""
        now = self.ctx.now()
        source = source[:SOURCE_MAX]
        recent = found.last_used_at is not None and now - found.last_used_at < TOUCH_EVERY
        if recent and found.last_used_from == source:
            return
        params = {"app_password": found.id, "now": now, "source": source}
        await self.ctx.store.db.run_in_writer(lambda conn: conn.execute(_TOUCH, params))


async def revoke_all(
    conn: AsyncConnection, account_id: int, local: str, *, at: dt.datetime, actor: str
) -> int:
    """Every app password of the account, revoked in the caller's transaction (its password changed
    or was reset, `policy.apppasswords`); recorded when there were any. How many there were: when
    any, the caller publishes `rights_changed` after its commit, so sessions using them end."""
    gone = (
        await conn.execute(
            sa.delete(app_password)
            .where(app_password.c.account_id == account_id)
            .returning(app_password.c.id)
        )
    ).all()
    if gone:
        await audit.record(
            conn,
            at=at,
            actor=actor,
            action="app_password.revoked_all",
            target=local,
            details={"app_passwords": len(gone)},
        )
    return len(gone)


async def _local(conn: AsyncConnection, account_id: int) -> str:
    return (await conn.execute(sa.select(account.c.local).where(account.c.id == account_id))).scalar_one()
