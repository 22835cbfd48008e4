"""Tokens for the REST API (R9): one per integration, shown once when made, kept only as a SHA-256,
revocable, each acting with one role (the operator's, the helpdesk's, or an agency manager's for that
agency's subtree), so an integration sees and files exactly what such a person could."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.accesslog import SUCCESS
from hopthu.directory.agencies import find
from hopthu.directory.context import DirectoryContext
from hopthu.directory.roles import Powers, check_role, powers_of
from hopthu.errors import HopThuError, NotFound
from hopthu.store.schema import agency, api_token

PREFIX = "hopthu_"
TOUCH_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    role: str
    agency_code: str | None
    created_by: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    agency_id: int | None


_SELECT = sa.select(
    api_token.c.id,
    api_token.c.name,
    api_token.c.role,
    agency.c.code,
    api_token.c.created_by,
    api_token.c.created_at,
    api_token.c.last_used_at,
    api_token.c.revoked_at,
    api_token.c.agency_id,
).select_from(api_token.outerjoin(agency, agency.c.id == api_token.c.agency_id))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokens:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    async def create(
        self, name: str, role: str, *, agency_code: str | None, actor: str
    ) -> tuple[ApiToken, str]:
        """A new token; returns it with its secret, which is shown this once and stored nowhere."""
        name = " ".join(name.split())
        if not name:
            raise HopThuError("Cần đặt tên cho token", "A token needs a name")
        check_role(role, agency_code)
        secret = PREFIX + secrets.token_urlsafe(32)
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            agency_id = (await find(conn, agency_code)).id if agency_code else None
            token_id = (
                await conn.execute(
                    sa.insert(api_token)
                    .values(
                        name=name,
                        token_hash=_digest(secret),
                        role=role,
                        agency_id=agency_id,
                        created_by=actor,
                        created_at=now,
                    )
                    .returning(api_token.c.id)
                )
            ).scalar_one()
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="api_token.created",
                target=f"api_token:{token_id}",
                details={"name": name, "role": role, "agency": agency_code},
            )
            made = ApiToken(*(await conn.execute(_SELECT.where(api_token.c.id == token_id))).one())
        return made, secret

    async def find(self, secret: str, *, source: str = "", client: str = "") -> ApiToken | None:
        """The live token behind a secret (touched at most once a minute), or None.

        The access log (R13.4) has every refused secret and, once a minute like the touch, a
        token's use: its name stands as the login (a token is no person's account)."""
        rows = (
            await self.ctx.store.db.all(_SELECT.where(api_token.c.token_hash == _digest(secret)))
            if secret.startswith(PREFIX)
            else []
        )
        found = ApiToken(*rows[0]) if rows else None
        if found is None or found.revoked_at is not None:
            result = "revoked" if found is not None else "bad_credentials"
            login = f"token:{found.name}" if found is not None else ""
            self._access(login, source, client, result)
            return None
        now = self.ctx.now()
        if found.last_used_at is None or now - found.last_used_at >= TOUCH_EVERY:
            self._access(f"token:{found.name}", source, client, SUCCESS)
            async with self.ctx.store.db.write() as conn:
                await conn.execute(
                    sa.update(api_token).where(api_token.c.id == found.id).values(last_used_at=now)
                )
        return found

    def _access(self, login: str, source: str, client: str, result: str) -> None:
        self.ctx.access_log.record(
            account_id=None, login=login, protocol="api", source=source, client=client, result=result
        )

    async def powers(self, token: ApiToken) -> Powers:
        return await powers_of(self.ctx.store.db, [(token.role, token.agency_id)])

    async def list(self) -> list[ApiToken]:
        return [ApiToken(*row) for row in await self.ctx.store.db.all(_SELECT.order_by(api_token.c.id))]

    async def revoke(self, token_id: int, *, actor: str) -> None:
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            done = await conn.execute(
                sa.update(api_token)
                .where(api_token.c.id == token_id, api_token.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if done.rowcount != 1:
                raise NotFound(f"Không có token số {token_id} đang dùng", f"No live token number {token_id}")
            await audit.record(
                conn, at=now, actor=actor, action="api_token.revoked", target=f"api_token:{token_id}"
            )
