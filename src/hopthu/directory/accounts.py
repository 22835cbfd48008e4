"""Accounts after they exist: look-up, passwords (R5.2, R5.3), lifecycle (R6), quota (R5.1).

Every change asks `policy` whether it is allowed, happens in one transaction with its audit event,
and drops cached password checks where it should (reset, lock, revoke, delete).
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as dt
import logging
from collections.abc import Collection, Sequence, Set
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hopthu.directory import apppasswords, audit, jobtitle
from hopthu.directory.context import DirectoryContext
from hopthu.directory.finding import name_matches, name_narrowing, query_words
from hopthu.errors import HopThuError, NotFound
from hopthu.policy import authority, lifecycle, naming, passwords, quota
from hopthu.security.passwords import hash_password, hash_temporary, temporary_password
from hopthu.store.events import rights_changed
from hopthu.store.schema import account, agency, alias, mail_usage, role_grant

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    local: str
    kind: str
    display_name: str
    agency_code: str
    rank: int
    status: str
    status_reason: str | None
    status_ref: str | None
    password_changed_at: dt.datetime
    must_change_password: bool
    quota_bytes: int
    usage_bytes: int
    message_count: int
    last_access_at: dt.datetime | None
    created_at: dt.datetime
    agency_id: int
    agency_name: str
    job_title: str | None  # chức vụ, shown in the address book (`jobtitle`)

    def address(self, domain: str) -> str:
        return f"{self.local}@{domain}"

    @property
    def on_first_password(self) -> bool:
        """Still on the temporary password it was created with: its owner has never come in yet (a
        reset password is changed later than the account was made)."""
        return self.must_change_password and self.password_changed_at == self.created_at

    @property
    def can_sign_in(self) -> bool:
        """Whether the mailbox's state lets its owner in at all (R6)."""
        return lifecycle.can_sign_in(lifecycle.Status(self.status))

    def as_json(self, domain: str) -> dict:
        return {
            "address": self.address(domain),
            "kind": self.kind,
            "display_name": self.display_name,
            "agency": self.agency_code,
            "rank": self.rank,
            "job_title": self.job_title,
            "status": self.status,
            "status_reason": self.status_reason,
            "status_ref": self.status_ref,
            "password_changed_at": self.password_changed_at.isoformat(),
            "must_change_password": self.must_change_password,
            "quota_bytes": self.quota_bytes,
            "usage_bytes": self.usage_bytes,
            "messages": self.message_count,
            "last_access_at": self.last_access_at.isoformat() if self.last_access_at else None,
            "created_at": self.created_at.isoformat(),
        }


_SELECT = sa.select(
    account.c.id,
    account.c.local,
    account.c.kind,
    account.c.display_name,
    agency.c.code,
    account.c.rank,
    account.c.status,
    account.c.status_reason,
    account.c.status_ref,
    account.c.password_changed_at,
    account.c.must_change_password,
    account.c.quota_bytes,
    sa.func.coalesce(mail_usage.c.bytes, 0),
    sa.func.coalesce(mail_usage.c.messages, 0),
    account.c.last_access_at,
    account.c.created_at,
    account.c.agency_id,
    agency.c.name,
    account.c.job_title,
).select_from(
    account.join(agency, account.c.agency_id == agency.c.id).outerjoin(
        mail_usage, mail_usage.c.account_id == account.c.id
    )
)
_BY_ID = _SELECT.where(account.c.id == sa.bindparam("id"))

# What each lifecycle action is called in the audit log.
_AUDIT_ACTION = {
    lifecycle.Action.LOCK: "account.locked",
    lifecycle.Action.RESTORE: "account.restored",
    lifecycle.Action.REVOKE: "account.revoked",
    lifecycle.Action.DELETE: "account.deleted",
}


_CHUNK = 500  # names per IN (...): SQLite's limit on parameters
_CHANGED = ("agency_id", "display_name", "rank", "family", "middle", "given")


@dataclass(frozen=True, slots=True)
class Change:
    """What changes about a person (R6.2): None keeps it as it is."""

    agency: str | None = None
    rank: int | None = None
    family: str | None = None
    middle: str | None = None
    given: str | None = None

    @property
    def renames(self) -> bool:
        return any(part is not None for part in (self.family, self.middle, self.given))


def _changed(
    found: sa.Row | None,
    what: Change,
    agencies_by_code: dict[str, sa.Row],
    agency_names: dict[int, str],
    agency_codes: dict[int, str],
) -> tuple[dict, dict]:
    """The new values of one account's row and the audit details of the change, or the refusal."""
    if found is None:
        raise NotFound("Không có hộp thư này", "No such mailbox")
    if found.kind != "personal":
        raise HopThuError(
            "Chỉ thay đổi được thông tin của hộp thư cá nhân", "Only a personal mailbox's details can change"
        )
    lifecycle.check_allowed(lifecycle.Status(found.status), lifecycle.Action.CHANGE)
    agency_id = found.agency_id
    if what.agency is not None:
        target = agencies_by_code.get(what.agency)
        if target is None:
            raise NotFound(
                f"Không có cơ quan, đơn vị mã '{what.agency}'", f"No agency with code '{what.agency}'"
            )
        if target.status != "active":
            raise HopThuError(
                f"Cơ quan '{what.agency}' không còn hoạt động", f"Agency '{what.agency}' is not active"
            )
        agency_id = target.id
    family = found.family if what.family is None else " ".join(what.family.split())
    middle = found.middle if what.middle is None else " ".join(what.middle.split())
    given = found.given if what.given is None else " ".join(what.given.split())
    if what.renames:
        naming.person_base(family, middle, given)  # refuses a name R4.3a cannot read
    shown = naming.display_name(family, middle, given, agency_names[agency_id])
    rank = found.rank if what.rank is None else what.rank
    values = {
        "agency_id": agency_id,
        "display_name": shown,
        "rank": rank,
        "family": family,
        "middle": middle,
        "given": given,
    }
    details = {
        "from": agency_codes[found.agency_id],
        "to": agency_codes[agency_id],
        "rank": what.rank,
        "display_name": shown,
    }
    return values, details


def local_part(address: str, domain: str) -> str:
    """`nvminh` from `nvminh`, `NVMinh@cantho.gov.vn`; refuse other domains."""
    address = address.strip().lower()
    local, at, host = address.partition("@")
    if at and host != domain.lower():
        raise HopThuError(
            f"Địa chỉ '{address}' không thuộc miền {domain}",
            f"The address '{address}' is not in the domain {domain}",
        )
    if not local:
        raise HopThuError("Thiếu địa chỉ thư", "An address is required")
    return local


class AccountService:
    def __init__(self, ctx: DirectoryContext) -> None:
        self.ctx = ctx

    @property
    def domain(self) -> str:
        return self.ctx.settings.server.domain

    async def _find(self, conn: AsyncConnection, address: str) -> Account:
        local = local_part(address, self.domain)
        row = (await conn.execute(_SELECT.where(account.c.local == local))).first()
        if row is None:
            target = (
                await conn.execute(
                    _SELECT.join(alias, alias.c.account_id == account.c.id).where(alias.c.local == local)
                )
            ).first()
            if target is None:
                raise NotFound(f"Không có hộp thư '{address}'", f"No mailbox '{address}'")
            row = target
        return Account(*row)

    async def get(self, address: str) -> Account:
        async with self.ctx.store.db.read() as conn:
            return await self._find(conn, address)

    async def find_many(self, locals_: Collection[str]) -> dict[str, Account]:
        """The accounts of these local parts (or of the aliases they name), by the local part asked:
        a list of thousands is looked up a chunk of names per statement, not one by one."""
        wanted = sorted(set(locals_))
        found: dict[str, Account] = {}
        async with self.ctx.store.db.read() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                for row in await conn.execute(_SELECT.where(account.c.local.in_(chunk))):
                    found[row.local] = Account(*row)
                former = [local for local in chunk if local not in found]
                if former:
                    rows = await conn.execute(
                        _SELECT.add_columns(alias.c.local.label("alias"))
                        .join(alias, alias.c.account_id == account.c.id)
                        .where(alias.c.local.in_(former))
                    )
                    for row in rows:
                        found[row.alias] = Account(*row[:-1])
        return found

    async def get_by_id(self, account_id: int) -> Account:
        """The account behind a session or a mailbox (one indexed read)."""
        rows = await self.ctx.store.db.all(_BY_ID, {"id": account_id})
        if not rows:
            raise NotFound(f"Không có hộp thư số {account_id}", f"No mailbox number {account_id}")
        return Account(*rows[0])

    async def list(
        self,
        *,
        agency_code: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        within: Collection[int] | None = None,
        query: str = "",
        unused_since: dt.datetime | None = None,
        password_before: dt.datetime | None = None,
        usage_at_least: float | None = None,
        limit: int = 1000,
        offset: int = 0,
    ) -> list[Account]:
        """Accounts by address; `within` keeps those of these agency ids, `query` those whose name
        (without diacritics) or address starts like it, `unused_since` those not used since then,
        `password_before` those whose password is older, `usage_at_least` those using that share of
        their quota or more."""
        statement = _SELECT
        if unused_since is not None:
            last_use = sa.func.coalesce(account.c.last_access_at, account.c.created_at)
            statement = statement.where(last_use < unused_since)
        if password_before is not None:
            statement = statement.where(account.c.password_changed_at < password_before)
        if usage_at_least is not None:
            used = sa.func.coalesce(mail_usage.c.bytes, 0)
            statement = statement.where(used >= account.c.quota_bytes * usage_at_least)
        if agency_code:
            statement = statement.where(agency.c.code == agency_code)
        if status:
            statement = statement.where(account.c.status == status)
        if kind:
            statement = statement.where(account.c.kind == kind)
        if within is not None:
            statement = statement.where(account.c.agency_id.in_(sorted(within)))
        words = query_words(query)
        prefix = query.strip().lower().split("@")[0]
        if words:
            statement = statement.where(
                sa.or_(name_narrowing(account.c.display_name, words), account.c.local.startswith(prefix))
            )
        else:
            statement = statement.offset(offset).limit(limit)
        async with self.ctx.store.db.read() as conn:
            rows = [Account(*row) for row in await conn.execute(statement.order_by(account.c.local))]
        if not words:
            return rows
        found = [a for a in rows if a.local.startswith(prefix) or name_matches(a.display_name, words)]
        return found[offset : offset + limit]

    async def aliases(self, address: str) -> builtins.list[str]:
        async with self.ctx.store.db.read() as conn:
            found = await self._find(conn, address)
            rows = await conn.execute(sa.select(alias.c.local).where(alias.c.account_id == found.id))
            return sorted(rows.scalars())

    async def history(self, address: str, limit: int = 20) -> builtins.list[audit.AuditEvent]:
        """What was done to the mailbox, under its present address and the ones it had before."""
        async with self.ctx.store.db.read() as conn:
            found = await self._find(conn, address)
            former = (
                await conn.execute(sa.select(alias.c.local).where(alias.c.account_id == found.id))
            ).scalars()
            return await audit.events_for(conn, [found.local, *former], limit)

    # --- passwords --------------------------------------------------------------------------------

    async def reset_password(
        self, address: str, *, actor: str, reason: str | None = None, roles: Set[str] | None = None
    ) -> str:
        """A new temporary password, shown once; it must be changed at first use (R5.2, R3.3).

        `roles` are the acting administrator's (`policy.authority` decides against the account's own
        roles, in the same transaction); None is the console's act, an operator's.
        """
        password = temporary_password()
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            found = await self._find(conn, address)
            if roles is not None:
                held = await conn.execute(
                    sa.select(role_grant.c.role).where(role_grant.c.account_id == found.id)
                )
                authority.check_password_reset(roles, {role for (role,) in held})
            await conn.execute(
                sa.update(account)
                .where(account.c.id == found.id)
                .values(
                    password_hash=hash_temporary(password), password_changed_at=now, must_change_password=True
                )
            )
            await audit.record(
                conn, at=now, actor=actor, action="account.password_reset", target=found.local, reason=reason
            )
            # A reset answers a forgotten or leaked password (R3.3): no app password outlives it.
            revoked = await apppasswords.revoke_all(conn, found.id, found.local, at=now, actor=actor)
        self.ctx.verifier.forget(found.id)
        if revoked:  # after the commit: IMAP sessions signed in with one of them end now
            self.ctx.store.events.publish(rights_changed(found.id))
        return password

    async def change_password(self, address: str, old: str, new: str) -> None:
        """The owner's own change: the old password proves it is them; R5.3 checks the new one.

        The argon2id work runs off the event loop and outside the write transaction; the update
        applies only if the hash is still the one checked (a concurrent change wins, this one fails).
        """
        async with self.ctx.store.db.read() as conn:
            found = await self._find(conn, address)
            stored = (
                await conn.execute(sa.select(account.c.password_hash).where(account.c.id == found.id))
            ).scalar_one()
        if not await self.ctx.verifier.check(found.id, old, stored):
            raise HopThuError("Mật khẩu hiện tại không đúng", "The current password is wrong", code="auth")
        passwords.check_password(
            new, old=old, personal=passwords.personal_words(found.local, found.display_name)
        )
        new_hash = await asyncio.to_thread(hash_password, new)
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            changed = await conn.execute(
                sa.update(account)
                .where(account.c.id == found.id, account.c.password_hash == stored)
                .values(password_hash=new_hash, password_changed_at=now, must_change_password=False)
            )
            if changed.rowcount != 1:
                raise HopThuError(
                    "Mật khẩu vừa được đổi ở nơi khác, hãy thử lại",
                    "The password was just changed elsewhere; try again",
                    code="conflict",
                )
            await audit.record(
                conn, at=now, actor=found.local, action="account.password_changed", target=found.local
            )
            revoked = await apppasswords.revoke_all(conn, found.id, found.local, at=now, actor=found.local)
        self.ctx.verifier.forget(found.id)
        if revoked:  # after the commit: IMAP sessions signed in with one of them end now
            self.ctx.store.events.publish(rights_changed(found.id))

    async def expire_password(self, account_id: int, *, actor: str, at: dt.datetime | None = None) -> bool:
        """R5.2, R6.4b: a password unchanged for its period must be changed at the next sign-in.

        Whether the account was marked now: False when it already had to change its password (a
        new or reset one, or a run before this one). `at` is the moment recorded, the job's run
        (default the clock's now).
        """
        now = at or self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            local = (
                await conn.execute(
                    sa.update(account)
                    .where(account.c.id == account_id, account.c.must_change_password.is_(False))
                    .values(must_change_password=True)
                    .returning(account.c.local)
                )
            ).scalar()
            if local is None:
                return False
            await audit.record(conn, at=now, actor=actor, action="account.password_expired", target=local)
        return True

    # --- lifecycle (R6) ---------------------------------------------------------------------------

    async def change_status(
        self,
        address: str,
        action: lifecycle.Action,
        *,
        reason: str,
        ref: str | None,
        actor: str,
        note: str | None = None,
    ) -> Account:
        """Lock, restore, revoke or delete, as `policy.lifecycle` allows, recording why and on what.

        `reason` is one of the regulation's reasons for the act (`lifecycle.REASONS`); `ref` the request
        or official document behind it; `note` free text for the record.
        """
        now = self.ctx.now()
        ref = ref.strip() if ref and ref.strip() else None
        async with self.ctx.store.db.write() as conn:
            found = await self._find(conn, address)
            since = (
                await conn.execute(sa.select(account.c.status_changed_at).where(account.c.id == found.id))
            ).scalar()
            within_retention = since is None or now < lifecycle.retention_ends_at(
                since, self.ctx.settings.policy.retention_days
            )
            new_status = lifecycle.transition(
                lifecycle.Status(found.status),
                action,
                reason=reason,
                ref=ref,
                within_retention=within_retention,
            )
            await conn.execute(
                sa.update(account)
                .where(account.c.id == found.id)
                .values(status=new_status.value, status_reason=reason, status_ref=ref, status_changed_at=now)
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action=_AUDIT_ACTION[action],
                target=found.local,
                reason=reason,
                ref=ref,
                details={"from": found.status, "to": new_status.value, "note": note},
            )
            updated = await self._find(conn, found.local)
        self.ctx.verifier.forget(found.id)
        # After the commit: open sessions (IMAP IDLE included) re-check this account's status now.
        self.ctx.store.events.publish(rights_changed(found.id))
        return updated

    async def lock_for_spam(self, local: str, note: str) -> bool:
        """R3.1, R6.4a: an account that starts sending spam (far over its sending limit, or mail
        held in quarantine) is presumed hijacked and locked by the system. The one way every
        channel locks for this; False when it was no longer active (already locked by a parallel
        session or request, say: the lock is what matters). Any other failure is raised."""
        try:
            await self.change_status(
                local,
                lifecycle.Action.LOCK,
                reason=lifecycle.Reason.VIOLATION.value,
                ref=None,
                actor="system",
                note=note,
            )
        except HopThuError as error:
            if error.code != "transition_not_allowed":
                raise
            log.info("account %s not locked for spam: no longer active", local)
            return False
        return True

    async def transfer(
        self, address: str, agency_code: str, *, rank: int | None, reason: str, ref: str | None, actor: str
    ) -> Account:
        """R6.2: a person moves to another agency or is appointed; the display name follows (R4.4) and
        the address, which comes from the name alone, stays."""
        return await self.change(
            address, Change(agency=agency_code, rank=rank), reason=reason, ref=ref, actor=actor
        )

    async def change(
        self, address: str, what: Change, *, reason: str, ref: str | None, actor: str
    ) -> Account:
        """R6.2: the agency, rank or name of a person changes; the display name follows (R4.4), the
        address stays (an agency that wants a new one files an alias)."""
        async with self.ctx.store.db.read() as conn:
            found = await self._find(conn, address)
        (refusal,) = await self.change_many([(found.local, what, reason, ref)], actor=actor)
        if refusal is not None:
            raise refusal
        return await self.get(found.local)

    async def change_many(
        self, changes: Sequence[tuple[str, Change, str, str | None]], *, actor: str
    ) -> builtins.list[HopThuError | None]:
        """`change` for many people at once (a list approved as one batch, R10.3): (local, what,
        reason, ref) each, in one transaction of a few statements; per change, the refusal that kept
        it from being done, or None. Callers pass a chunk at a time."""
        now = self.ctx.now()
        refusals: list[HopThuError | None] = []
        updates: list[dict] = []
        events: list[tuple[str, str, str | None, dict]] = []
        async with self.ctx.store.db.write() as conn:
            where = {
                row.code: row
                for row in await conn.execute(
                    sa.select(agency.c.id, agency.c.code, agency.c.name, agency.c.status)
                )
            }
            current = {}
            locals_ = sorted({local for local, *_ in changes})
            for start in range(0, len(locals_), _CHUNK):
                rows = await conn.execute(
                    sa.select(
                        account.c.id,
                        account.c.local,
                        account.c.kind,
                        account.c.status,
                        account.c.family,
                        account.c.middle,
                        account.c.given,
                        account.c.rank,
                        account.c.agency_id,
                    ).where(account.c.local.in_(locals_[start : start + _CHUNK]))
                )
                current.update({row.local: row for row in rows})
            codes = {row.id: row.code for row in where.values()}
            names = {row.id: row.name for row in where.values()}
            for local, what, reason, ref in changes:
                try:
                    values, details = _changed(current.get(local), what, where, names, codes)
                    lifecycle.check_reason(lifecycle.Action.CHANGE, reason, ref)
                except HopThuError as refusal:
                    refusals.append(refusal)
                    continue
                refusals.append(None)
                updates.append({"b_id": current[local].id, **values})
                events.append((local, reason, ref.strip() if ref and ref.strip() else None, details))
            if updates:
                await conn.execute(
                    sa.update(account)
                    .where(account.c.id == sa.bindparam("b_id"))
                    .values({name: sa.bindparam(name) for name in _CHANGED}),
                    updates,
                )
                await audit.record_each(conn, at=now, actor=actor, action="account.changed", events=events)
        return refusals

    # --- job title ---------------------------------------------------------------------------------

    async def set_job_title(
        self, address: str, title: str | None, *, actor: str, reason: str | None = None
    ) -> Account:
        """A person's job title as the address book shows it (empty: none). Audited like every change
        to an account, which also moves the address book's version (`directory.book.version`)."""
        cleaned = jobtitle.clean(title)
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            found = await self._find(conn, address)
            if found.kind != "personal":
                raise HopThuError(
                    "Chỉ hộp thư cá nhân mới có chức vụ", "Only a personal mailbox has a job title"
                )
            lifecycle.check_allowed(lifecycle.Status(found.status), lifecycle.Action.CHANGE)
            if cleaned == found.job_title:
                return found
            await conn.execute(sa.update(account).where(account.c.id == found.id).values(job_title=cleaned))
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="account.title_changed",
                target=found.local,
                reason=reason.strip() if reason and reason.strip() else None,
                details={"from": found.job_title, "to": cleaned},
            )
            return await self._find(conn, found.local)

    # --- quota (R5.1) -----------------------------------------------------------------------------

    async def set_quota(
        self, address: str, size: str | int, *, actor: str, reason: str | None = None
    ) -> Account:
        limit = quota.parse_size(size) if isinstance(size, str) else size
        now = self.ctx.now()
        async with self.ctx.store.db.write() as conn:
            found = await self._find(conn, address)
            quota.check_quota_setting(found.kind, limit, self.ctx.quota_rules)
            await conn.execute(sa.update(account).where(account.c.id == found.id).values(quota_bytes=limit))
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="account.quota_changed",
                target=found.local,
                reason=reason,
                details={"from": found.quota_bytes, "to": limit},
            )
            return await self._find(conn, found.local)
