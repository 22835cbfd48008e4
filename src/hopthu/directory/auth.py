"""Signing in, for every protocol (SMTP submission, IMAP, POP3, webmail): who is this, may they?

One answer for all: the password is checked (argon2id, through the verifier's cache, off the event
loop), then the account's state decides: must change its password first (R5.2), locked, revoked or
deleted (R6). Failures are throttled per account and source (R13.3). A success records the access
time that inactivity revocation counts from (R6.5), at most once a minute per account.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.accounts import local_part
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError
from hopthu.policy import lifecycle, passwords
from hopthu.security.throttle import LoginThrottle
from hopthu.store.schema import account

ACCESS_RESOLUTION = dt.timedelta(minutes=1)


class Refusal(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"
    MUST_CHANGE_PASSWORD = "must_change_password"
    LOCKED = "locked"
    REVOKED = "revoked"
    DELETED = "deleted"


class SignInRefused(HopThuError):
    def __init__(self, refusal: Refusal, vi: str, en: str) -> None:
        super().__init__(vi, en, code=refusal.value)
        self.refusal = refusal


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in person (or agency mailbox)."""

    account_id: int
    local: str
    address: str
    kind: str
    display_name: str


_ACCOUNT = sa.select(
    account.c.id,
    account.c.local,
    account.c.kind,
    account.c.display_name,
    account.c.status,
    account.c.password_hash,
    account.c.password_changed_at,
    account.c.must_change_password,
    account.c.last_access_at,
)


class Authenticator:
    def __init__(self, ctx: DirectoryContext, throttle: LoginThrottle | None = None) -> None:
        self.ctx = ctx
        self.throttle = throttle or LoginThrottle()

    async def sign_in(self, login: str, password: str, *, source: str, protocol: str) -> Identity:
        """The identity behind `login`/`password`, or SignInRefused saying why (in both languages)."""
        domain = self.ctx.settings.server.domain
        try:
            local = local_part(login, domain)
        except HopThuError:
            local = login.strip().lower()
        wait = self.throttle.paused(local, source)
        if wait:
            raise SignInRefused(
                Refusal.THROTTLED,
                f"Đăng nhập sai nhiều lần, tạm dừng {int(wait // 60) + 1} phút",
                f"Too many failed sign-ins; paused for {int(wait // 60) + 1} minutes",
            )
        found = await self.ctx.store.db.all(_ACCOUNT.where(account.c.local == local))
        row = found[0] if found else None
        valid = row is not None and await self.ctx.verifier.check(row.id, password, row.password_hash)
        if not valid:
            paused = self.throttle.failed(local, source)
            await asyncio.sleep(self.throttle.delay(local, source))
            if paused and row is not None:
                await self._record(row.local, "signin.paused", {"source": source, "protocol": protocol})
            raise SignInRefused(
                Refusal.BAD_CREDENTIALS, "Sai địa chỉ hoặc mật khẩu", "Wrong address or password"
            )
        self.throttle.succeeded(local, source)
        status = lifecycle.Status(row.status)
        if not lifecycle.can_sign_in(status):
            refusal = {
                lifecycle.Status.LOCKED: Refusal.LOCKED,
                lifecycle.Status.REVOKED: Refusal.REVOKED,
                lifecycle.Status.DELETED: Refusal.DELETED,
            }[status]
            raise SignInRefused(
                refusal,
                f"Hộp thư {status.vi}; liên hệ hotro@{domain}",
                f"The mailbox is {status.value}; contact hotro@{domain}",
            )
        now = self.ctx.now()
        if passwords.must_change_password(
            row.password_changed_at,
            row.must_change_password,
            now,
            months=self.ctx.settings.policy.password_max_age_months,
        ):
            raise SignInRefused(
                Refusal.MUST_CHANGE_PASSWORD,
                f"Cần đổi mật khẩu tại {self.ctx.settings.server.web_url}",
                f"The password must be changed at {self.ctx.settings.server.web_url}",
            )
        if row.last_access_at is None or now - row.last_access_at >= ACCESS_RESOLUTION:
            async with self.ctx.store.db.write() as conn:
                await conn.execute(
                    sa.update(account).where(account.c.id == row.id).values(last_access_at=now)
                )
        return Identity(row.id, row.local, f"{row.local}@{domain}", row.kind, row.display_name)

    async def _record(self, local: str, action: str, details: dict) -> None:
        async with self.ctx.store.db.write() as conn:
            await audit.record(
                conn, at=self.ctx.now(), actor="system", action=action, target=local, details=details
            )
