"""Administrators' second factor (R9): a TOTP seed (RFC 6238, 30-second steps, 6 digits) enrolled on
the first sign-in to the portal, confirmed by a first code, then asked for at each new session.

Enrolling a device needs the administrator's own password, typed again on the enrolment page: a
session left open, or one signed in with a password somebody else was given, cannot tie the portal
to a stranger's phone. Replacing a device is an operator's act (`reset`), after which the
administrator enrols again with their password.

A code is accepted once: the step it belongs to is recorded and an older or equal step is refused,
so a code seen over a shoulder cannot be replayed. One step either side is allowed for clock drift.
"""

from __future__ import annotations

import datetime as dt

import pyotp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import audit
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError
from hopthu.security.secretbox import KEY_FILE, SecretBox, load_or_create
from hopthu.store.schema import account, admin_factor

ISSUER = "Hộp Thư Cần Thơ"
STEP_SECONDS = 30


class AdminFactors:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx
        self._box: SecretBox | None = None

    @property
    def box(self) -> SecretBox:
        """Opened on first use, so commands that never touch a seed never touch the key file."""
        if self._box is None:
            self._box = SecretBox(load_or_create(self.ctx.settings.path(KEY_FILE)))
        return self._box

    async def confirmed(self, account_id: int) -> bool:
        rows = await self.ctx.store.db.all(
            sa.select(admin_factor.c.confirmed_at).where(admin_factor.c.account_id == account_id)
        )
        return bool(rows) and rows[0][0] is not None

    async def enrolment(self, account_id: int) -> tuple[str, str]:
        """The seed waiting to be confirmed (a new one if there is none) and its otpauth:// URI."""
        async with self.ctx.store.db.write() as conn:
            row = (
                await conn.execute(
                    sa.select(admin_factor.c.secret, admin_factor.c.confirmed_at).where(
                        admin_factor.c.account_id == account_id
                    )
                )
            ).first()
            if row is not None and row.confirmed_at is not None:
                raise HopThuError(
                    "Đã đăng ký thiết bị xác thực", "A device is already enrolled", code="conflict"
                )
            if row is None:
                secret = pyotp.random_base32()
                await conn.execute(
                    sa.insert(admin_factor).values(
                        account_id=account_id, secret=self.box.seal(secret), created_at=self.ctx.now()
                    )
                )
            else:
                secret = self.box.open(row.secret)
            local = await _local(conn, account_id)
        name = f"{local}@{self.ctx.settings.server.domain}"
        return secret, pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)

    async def own_password(self, account_id: int, password: str) -> bool:
        """Whether `password` is the account's current one (argon2id off the loop, outside any write)."""
        stored = await self.ctx.store.db.all(
            sa.select(account.c.password_hash).where(account.c.id == account_id)
        )
        if not stored or not stored[0][0] or not password:
            return False
        return await self.ctx.verifier.check(account_id, password, stored[0][0])

    async def verify(self, account_id: int, code: str, *, actor: str, password: str | None = None) -> bool:
        """Whether `code` is the current one. The first code confirms the enrolment, and only with the
        administrator's own `password` beside it."""
        code = "".join(code.split())
        if not (code.isdigit() and len(code) == 6):
            return False
        if not await self.confirmed(account_id) and not await self.own_password(account_id, password or ""):
            return False
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            row = (
                await conn.execute(sa.select(admin_factor).where(admin_factor.c.account_id == account_id))
            ).first()
            if row is None:
                return False
            step = _matching_step(self.box.open(row.secret), code, now)
            if step is None or step <= row.last_step:
                return False
            values: dict = {"last_step": step}
            if row.confirmed_at is None:
                values["confirmed_at"] = now
                local = await _local(conn, account_id)
                await audit.record(conn, at=now, actor=actor, action="admin.factor_enrolled", target=local)
            await conn.execute(
                sa.update(admin_factor).where(admin_factor.c.account_id == account_id).values(**values)
            )
        return True

    async def reset(self, account_id: int, *, actor: str, reason: str) -> None:
        """Forget an administrator's device (lost phone): they enrol again at their next sign-in."""
        async with self.ctx.store.db.write() as conn:
            await conn.execute(sa.delete(admin_factor).where(admin_factor.c.account_id == account_id))
            local = await _local(conn, account_id)
            await audit.record(
                conn, at=self.ctx.now(), actor=actor, action="admin.factor_reset", target=local, reason=reason
            )


def _matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in (current, current - 1, current + 1):
        if totp.at(step * STEP_SECONDS) == code:
            return step
    return None


async def _local(conn: AsyncConnection, account_id: int) -> str:
    return (await conn.execute(sa.select(account.c.local).where(account.c.id == account_id))).scalar_one()
