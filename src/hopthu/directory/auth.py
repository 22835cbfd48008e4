"""Signing in, for every protocol (SMTP submission, IMAP, POP3, webmail): who is this, may they?

One answer for all: the password is checked (argon2id, through the verifier's cache, off the event
loop), then the account's state decides: must change its password first (R5.2), locked, revoked or
deleted (R6). Failures are throttled by `policy.signin`'s three limits (R13.3): an account paused for
the source that failed five times (its owner told by mail), a source that failed on many accounts
paused everywhere, and an account guessed from many sources answering its failures slower.

A login that names no account (unknown or mistyped) costs the same argon2id check as a real one,
against a fixed dummy hash of the same cost, so the time of the answer does not tell an attacker
which addresses exist. A success records the access time that inactivity revocation counts from
(R6.5), at most once a minute per account.

App passwords (`directory.apppasswords`, `policy.apppasswords`): on IMAP, POP3 and submission a
password of their shape is first looked up among the account's app passwords, by one keyed hash and
one indexed query instead of argon2id (so a person's twenty app passwords do not cost twenty argon2id
checks a sign-in); one that matches stands for the main password, and every check after it (the
account's state, the forced change) is the same. The webmail refuses them, saying why: they are for
mail programs, and the web page is where more of them are made. A shape that matches none is checked
as a main password, as before.

Two-factor sign-in guards administrators' portal (`directory.factors`), not their mailbox: the
webmail itself opens a mailbox with its password alone, so IMAP, POP3 and SMTP accept the main
password of such an account as they accept anyone's, and app passwords are there for whoever wants
the main password kept in the browser only.

R13.7: until `former.signin_until` (a date, Vietnam time) a person of a former province may sign in
with their old address (`directory.former`); it is the account's own sign-in, throttled and paused as
that account, and the access log keeps the address typed. Unset or past, an old address is a login
that names no account, answered like any other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple, Protocol

import sqlalchemy as sa

from hopthu.config import Settings
from hopthu.directory import accesslog, audit, former
from hopthu.directory.accounts import local_part
from hopthu.directory.apppasswords import AppPasswords
from hopthu.directory.context import DirectoryContext
from hopthu.errors import HopThuError
from hopthu.metrics.meters import UNWIRED, Meters
from hopthu.policy import apppasswords, lifecycle, passwords, signin
from hopthu.policy.dates import VIETNAM
from hopthu.security.passwords import hash_password
from hopthu.security.throttle import LoginThrottle
from hopthu.store.schema import account

log = logging.getLogger("hopthu.auth")
ACCESS_RESOLUTION = dt.timedelta(minutes=1)
_DUMMY_ID = 0  # no account has id 0: the verifier's cache never mixes the dummy with a person


_ACCESSED = (
    sa.update(account)
    .where(account.c.id == sa.bindparam("account"))
    .values(last_access_at=sa.bindparam("now"))
)


class Tell(Protocol):
    """How a notice reaches a person's INBOX (`Pipeline.tell`)."""

    def __call__(self, recipient: str, *, subject: str, vi: str, en: str) -> Awaitable[None]: ...


def limits_of(settings: Settings) -> signin.Limits:
    """`policy.signin.Limits` from the settings (`[policy] signin_*`)."""
    policy = settings.policy
    window = policy.signin_source_minutes * 60
    return signin.Limits(
        account_failures=policy.signin_failures,
        pause_seconds=policy.signin_pause_minutes * 60,
        source_accounts=policy.signin_source_accounts,
        source_window_seconds=window,
        source_pause_seconds=window,
        guard_sources=policy.signin_guard_sources,
        guard_window_seconds=window,
        guard_delay_seconds=policy.signin_guard_delay_seconds,
    )


class Refusal(StrEnum):
    BAD_CREDENTIALS = "bad_credentials"
    THROTTLED = "throttled"
    MUST_CHANGE_PASSWORD = "must_change_password"
    LOCKED = "locked"
    REVOKED = "revoked"
    DELETED = "deleted"
    APP_PASSWORD_ON_WEB = "app_password_on_web"


class SignInRefused(HopThuError):
    def __init__(self, refusal: Refusal, vi: str, en: str, *, account_id: int | None = None) -> None:
        super().__init__(vi, en, code=refusal.value)
        self.refusal = refusal
        # Only when the password was right and must be changed: the account to change it for, which
        # the login may name by an old address (R13.7).
        self.account_id = account_id


@dataclass(frozen=True, slots=True)
class Identity:
    """A signed-in person (or agency mailbox)."""

    account_id: int
    local: str
    address: str
    kind: str
    display_name: str
    # The app password it signed in with (None: the main password): a long IMAP session ends when
    # it is revoked (`imap.session`).
    app_password_id: int | None = None


class _Account(NamedTuple):
    id: int
    local: str
    kind: str
    display_name: str
    status: str
    password_hash: str
    password_changed_at: dt.datetime
    must_change_password: bool
    last_access_at: dt.datetime | None


# Read at every sign-in: one constant statement, run straight on the driver (`Database.tuples`).
_ACCOUNT = sa.select(*(account.c[name] for name in _Account._fields)).where(
    account.c.local == sa.bindparam("local")
)


class Authenticator:
    meters: Meters = UNWIRED  # the server's, for /metrics

    def __init__(
        self, ctx: DirectoryContext, throttle: LoginThrottle | None = None, *, tell: Tell | None = None
    ) -> None:
        self.ctx = ctx
        self.throttle = throttle or LoginThrottle(limits_of(ctx.settings))
        self.tell = tell
        self.app_passwords = AppPasswords(ctx)
        self._dummy: str | None = None

    async def dummy_hash(self) -> str:
        """A hash of a random password at the cost of a chosen one (made once, off the loop)."""
        if self._dummy is None:
            self._dummy = await asyncio.to_thread(hash_password, secrets.token_urlsafe(24))
        return self._dummy

    async def sign_in(
        self, login: str, password: str, *, source: str, protocol: str, client: str = ""
    ) -> Identity:
        """The identity behind `login`/`password`, or SignInRefused saying why (in both languages).

        Either way the attempt is one event of the access log (R13.4), with the program the caller
        knows (`client`: IMAP ID's name and version, the browser's User-Agent, the EHLO name); a
        success from a source and program this account never used before tells its owner."""
        named: list[int] = []  # the account the login names, once it is looked up
        access = self.ctx.access_log
        try:
            identity = await self._check(login, password, source, protocol, named)
        except SignInRefused as refused:
            access.record(
                account_id=named[0] if named else None,
                login=login,
                protocol=protocol,
                source=source,
                client=client,
                result=refused.refusal.value,
            )
            self.meters.signed_in(protocol, refused.refusal.value)
            raise
        new_place = self.ctx.settings.policy.signin_new_place_notice and await access.is_new_place(
            identity.account_id, source, client
        )
        access.record(
            account_id=identity.account_id,
            login=login,
            protocol=protocol,
            source=source,
            client=client,
            result=accesslog.SUCCESS,
        )
        self.meters.signed_in(protocol, "success")
        if new_place:
            await self._new_place(identity, source, client, protocol)
        return identity

    async def _check(
        self, login: str, password: str, source: str, protocol: str, named: list[int]
    ) -> Identity:
        domain = self.ctx.settings.server.domain
        try:
            local = local_part(login, domain)
        except HopThuError:
            local = await self._former_local(login) or login.strip().lower()
        wait = self.throttle.source_paused(source)
        if wait:
            minutes = signin.minutes_left(wait)
            raise SignInRefused(
                Refusal.THROTTLED,
                f"Quá nhiều lần đăng nhập sai từ địa chỉ {source}, tạm dừng {minutes} phút",
                f"Too many failed sign-ins from {source}; paused for {minutes} minutes",
            )
        wait = self.throttle.paused(local, source)
        if wait:
            minutes = signin.minutes_left(wait)
            raise SignInRefused(
                Refusal.THROTTLED,
                f"Đăng nhập sai nhiều lần, tạm dừng {minutes} phút",
                f"Too many failed sign-ins; paused for {minutes} minutes",
            )
        found = await self.ctx.store.db.tuples(_ACCOUNT, {"local": local})
        row = _Account._make(found[0]) if found else None
        if row is not None:
            named.append(row.id)
        app = await self.app_passwords.match(row.id, password) if row is not None else None
        if app is not None and not apppasswords.opens(protocol):
            # A right secret in the wrong place: neither a failure to count nor a sign-in.
            raise SignInRefused(
                Refusal.APP_PASSWORD_ON_WEB,
                "Đây là mật khẩu ứng dụng, chỉ dùng cho chương trình thư (IMAP, POP3, SMTP); "
                "hãy đăng nhập trang web bằng mật khẩu chính của bạn",
                "This is an app password, for mail programs only (IMAP, POP3, SMTP); "
                "sign in to the web with your main password",
            )
        if app is not None:
            valid = True
        elif row is not None and row.password_hash:
            valid = await self.ctx.verifier.check(row.id, password, row.password_hash)
        else:  # the same argon2id work, so the answer's time does not say the address is unknown
            dummy = await self.dummy_hash()
            await asyncio.to_thread(self.ctx.verifier.verify, _DUMMY_ID, password, dummy)
            valid = False
        if not valid:
            failure = self.throttle.failed(local, source)
            if failure.paused_account and row is not None:
                await self._paused(row.local, source, protocol)
            if failure.paused_source:
                log.warning("sign-in source %s paused: failed on many accounts (%s)", source, protocol)
            await asyncio.sleep(failure.delay)
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
                account_id=row.id,
            )
        if row.last_access_at is None or now - row.last_access_at >= ACCESS_RESOLUTION:
            # Whole in the writer, in a shared transaction: the first sign-ins after a start come
            # all at once, and each held SQLite's write lock across trips through the loop.
            params = {"account": row.id, "now": now}
            await self.ctx.store.db.run_in_writer(lambda conn: conn.execute(_ACCESSED, params))
        if app is not None:
            await self.app_passwords.used(app, source)
        return Identity(
            row.id,
            row.local,
            f"{row.local}@{domain}",
            row.kind,
            row.display_name,
            app.id if app is not None else None,
        )

    async def _former_local(self, login: str) -> str | None:
        """R13.7: the account an old address signs in to, while the transition period lasts."""
        last_day = self.ctx.settings.former.signin_last_day
        if last_day is None or self.ctx.now().astimezone(VIETNAM).date() > last_day:
            return None
        address = login.strip().lower()
        if len(address) > former.ADDRESS_LENGTH:
            return None
        domain = address.rpartition("@")[2]
        if domain not in {d.lower() for d in self.ctx.settings.smtp.domain_aliases}:
            return None
        return await former.local_of(self.ctx.store.db, address)

    async def _paused(self, local: str, source: str, protocol: str) -> None:
        """R13.3: the account is paused for `source`; recorded, and its owner told once by mail."""
        await self._record(local, "signin.paused", {"source": source, "protocol": protocol})
        if self.tell is None:
            return
        minutes = round(self.throttle.limits.pause_seconds / 60)
        failures = self.throttle.limits.account_failures
        when = self.ctx.now().astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
        try:
            await self.tell(
                f"{local}@{self.ctx.settings.server.domain}",
                subject="Đăng nhập sai nhiều lần / Repeated failed sign-ins",
                vi=(
                    f"Lúc {when} có {failures} lần đăng nhập sai liên tiếp vào hộp thư của bạn từ địa chỉ "
                    f"{source} (giao thức {protocol}). Đăng nhập từ địa chỉ đó tạm dừng {minutes} phút; "
                    "bạn vẫn đăng nhập được từ nơi khác. Nếu không phải bạn, hãy đổi mật khẩu và báo "
                    f"hotro@{self.ctx.settings.server.domain}."
                ),
                en=(
                    f"At {when} there were {failures} failed sign-ins in a row to your mailbox from "
                    f"{source} (protocol {protocol}). Sign-in from that address is paused for {minutes} "
                    "minutes; you can still sign in from elsewhere. If it was not you, change your "
                    f"password and tell hotro@{self.ctx.settings.server.domain}."
                ),
            )
        except Exception:  # the pause holds even if the notice cannot be written now
            log.exception("the sign-in pause notice to %s could not be delivered", local)

    async def _new_place(self, identity: Identity, source: str, client: str, protocol: str) -> None:
        """R13.4: a sign-in from a source and program not seen for this account in the last 12
        months: its owner is told once, so a stolen password does not go unnoticed."""
        if self.tell is None:
            return
        when = self.ctx.now().astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")
        helpdesk = f"hotro@{self.ctx.settings.server.domain}"
        program_vi = f", chương trình {client}" if client else ""
        program_en = f", program {client}" if client else ""
        try:
            await self.tell(
                identity.address,
                subject="Đăng nhập từ nơi mới / Sign-in from a new place",
                vi=(
                    f"Lúc {when} hộp thư của bạn được đăng nhập từ địa chỉ {source} (giao thức "
                    f"{protocol}{program_vi}), nơi chưa từng đăng nhập trong 12 tháng qua. Nếu là bạn, "
                    "không cần làm gì. Nếu không phải bạn, hãy đổi mật khẩu ngay, đăng xuất các phiên "
                    f"lạ trong trang Cài đặt và báo {helpdesk}."
                ),
                en=(
                    f"At {when} your mailbox was signed in to from {source} (protocol {protocol}"
                    f"{program_en}), which had not signed in to it in the last 12 months. If it was "
                    "you, there is nothing to do. If it was not, change your password now, sign out "
                    f"the sessions you do not know on the Settings page and tell {helpdesk}."
                ),
            )
        except Exception:  # the sign-in holds even if the notice cannot be written now
            log.exception("the new sign-in place notice to %s could not be delivered", identity.local)

    async def _record(self, local: str, action: str, details: dict) -> None:
        async with self.ctx.store.db.write() as conn:
            await audit.record(
                conn, at=self.ctx.now(), actor="system", action=action, target=local, details=details
            )
