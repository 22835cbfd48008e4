"""A person's data on request (R13.6, Luật Bảo vệ dữ liệu cá nhân 91/2025): what the directory holds
about them, read for an export, and the erasure of it on a lawful request.

The export's mail and its archive are `privacy.archive`; this module reads the directory's part
(the account, its agency, aliases, delegations held and given, roles, preferences, sender lists,
sessions, app passwords' names and dates, the second factor's dates: never a secret or a hash) and
the audit entries in which they act or are acted on.

Erasure (`policy.erasure` decides whether it may go ahead): the mail goes first, folder by folder
in bounded transactions as the retention job purges (`jobs.rules.retention`), then in one
transaction everything else personal (preferences, out-of-office memory, sessions, app passwords,
second factor, delegations both ways, personal sender lists, notices) with the account turned into a
tombstone: names replaced, status `deleted` (`policy.lifecycle`, act `erase`), purged. The tombstone
keeps the address out of use as any deleted one (R6.3 decision: released after
`policy.address_quarantine_days` by the retention job, never while it is quarantined), and the
audit entries stay (R13.4), the erasure recorded among them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hopthu.directory import audit
from hopthu.directory.accounts import Account, AccountService
from hopthu.directory.context import DirectoryContext
from hopthu.directory.roles import RoleService
from hopthu.policy import lifecycle
from hopthu.policy.erasure import ERASED_NAME, check_erasure
from hopthu.store import contents
from hopthu.store.events import rights_changed
from hopthu.store.schema import (
    account,
    account_preference,
    admin_factor,
    agency,
    app_password,
    archive_import,
    audit_event,
    delegation,
    former_address,
    mailbox,
    notice,
    orphan_subscription,
    role_grant,
    sender_rule,
    vacation_reply,
    web_session,
)

AUDIT_BATCH = 1000  # audit entries read per query
AUDIT_COLUMNS = ("id", "at", "actor", "action", "target", "reason", "ref", "details")
REF_MAX = 200  # account.status_ref and audit_event.ref


@dataclass(frozen=True, slots=True)
class Erased:
    local: str
    messages: int  # messages removed
    status_before: str


def _when(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


class PersonalData:
    def __init__(self, ctx: DirectoryContext, accounts: AccountService, roles: RoleService) -> None:
        self.ctx = ctx
        self.accounts = accounts
        self.roles = roles

    @property
    def domain(self) -> str:
        return self.ctx.settings.server.domain

    def _names(self, found: Account) -> list[str]:
        """How the audit names the person as actor or target: the local part, and the address."""
        return [found.local, found.address(self.domain)]

    async def record(self, found: Account) -> dict[str, Any]:
        """Everything the directory holds about the account, as plain JSON values."""
        db = self.ctx.store.db
        me = found.id
        (row,) = await db.all(sa.select(account).where(account.c.id == me))
        person = row._mapping
        (home,) = await db.all(
            sa.select(agency.c.code, agency.c.name).where(agency.c.id == person["agency_id"])
        )
        held = await db.all(
            sa.select(account.c.local, delegation.c.can_read, delegation.c.can_send, delegation.c.created_at)
            .select_from(delegation.join(account, account.c.id == delegation.c.mailbox_account_id))
            .where(delegation.c.person_account_id == me)
            .order_by(account.c.local)
        )
        given = await db.all(
            sa.select(account.c.local, delegation.c.can_read, delegation.c.can_send, delegation.c.created_at)
            .select_from(delegation.join(account, account.c.id == delegation.c.person_account_id))
            .where(delegation.c.mailbox_account_id == me)
            .order_by(account.c.local)
        )
        roles = await db.all(
            sa.select(role_grant.c.role, agency.c.code, role_grant.c.created_at)
            .select_from(role_grant.outerjoin(agency, agency.c.id == role_grant.c.agency_id))
            .where(role_grant.c.account_id == me)
            .order_by(role_grant.c.role)
        )
        preferences = await db.all(sa.select(account_preference).where(account_preference.c.account_id == me))
        rules = await db.all(
            sa.select(sender_rule.c.kind, sender_rule.c.pattern, sender_rule.c.created_at)
            .where(sender_rule.c.account_id == me)
            .order_by(sender_rule.c.id)
        )
        sessions = await db.all(
            sa.select(
                web_session.c.created_at,
                web_session.c.last_seen_at,
                web_session.c.ended_at,
                web_session.c.public,
                web_session.c.user_agent,
                web_session.c.address,
            )
            .where(web_session.c.account_id == me)
            .order_by(web_session.c.created_at)
        )
        apps = await db.all(
            sa.select(
                app_password.c.name,
                app_password.c.created_at,
                app_password.c.last_used_at,
                app_password.c.last_used_from,
            )
            .where(app_password.c.account_id == me)
            .order_by(app_password.c.id)
        )
        factor = await db.all(
            sa.select(admin_factor.c.created_at, admin_factor.c.confirmed_at).where(
                admin_factor.c.account_id == me
            )
        )
        folders = await self.ctx.store.mail.mailboxes(me)
        names = await self.accounts.aliases(found.local)
        old_addresses = await db.all(
            sa.select(former_address.c.address)
            .where(former_address.c.account_id == me)
            .order_by(former_address.c.address)
        )
        prefs = preferences[0]._mapping if preferences else None
        return {
            "account": {
                "address": found.address(self.domain),
                "kind": person["kind"],
                "family": person["family"],
                "middle": person["middle"],
                "given": person["given"],
                "display_name": person["display_name"],
                "rank": person["rank"],
                "job_title": person["job_title"],
                "status": person["status"],
                "status_reason": person["status_reason"],
                "status_ref": person["status_ref"],
                "status_changed_at": _when(person["status_changed_at"]),
                "registered_on": _when(person["registered_on"]),
                "created_at": _when(person["created_at"]),
                "password_changed_at": _when(person["password_changed_at"]),
                "last_access_at": _when(person["last_access_at"]),
                "quota_bytes": person["quota_bytes"],
            },
            "agency": {"code": home[0], "name": home[1]},
            "aliases": [f"{name}@{self.domain}" for name in names],
            "former_addresses": [row[0] for row in old_addresses],  # R13.7: their old addresses
            "delegations_held": [
                {"mailbox": f"{r[0]}@{self.domain}", "can_read": r[1], "can_send": r[2], "since": _when(r[3])}
                for r in held
            ],
            "delegations_given": [
                {"person": f"{r[0]}@{self.domain}", "can_read": r[1], "can_send": r[2], "since": _when(r[3])}
                for r in given
            ],
            "roles": [{"role": r[0], "agency": r[1], "since": _when(r[2])} for r in roles],
            "preferences": None
            if prefs is None
            else {
                "signature": prefs["signature"],
                "signature_html": prefs["signature_html"],
                "vacation_on": prefs["vacation_on"],
                "vacation_subject": prefs["vacation_subject"],
                "vacation_text": prefs["vacation_text"],
                "vacation_until": _when(prefs["vacation_until"]),
                "updated_at": _when(prefs["updated_at"]),
            },
            "sender_rules": [{"kind": r[0], "pattern": r[1], "since": _when(r[2])} for r in rules],
            "sessions": [
                {
                    "started_at": _when(r[0]),
                    "last_seen_at": _when(r[1]),
                    "ended_at": _when(r[2]),
                    "public_computer": r[3],
                    "browser": r[4],
                    "ip_address": r[5],
                }
                for r in sessions
            ],
            "app_passwords": [
                {"name": r[0], "created_at": _when(r[1]), "last_used_at": _when(r[2]), "last_used_from": r[3]}
                for r in apps
            ],
            "second_factor": None
            if not factor
            else {"enrolled_at": _when(factor[0][0]), "confirmed_at": _when(factor[0][1])},
            "folders": [{"name": box.name, "messages": box.message_count} for box in folders],
        }

    async def audit_entries(self, found: Account) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The audit entries in which the person acts or is acted on, oldest first, a batch at a
        time (`AUDIT_COLUMNS`)."""
        names = self._names(found)
        last = 0
        while True:
            rows = await self.ctx.store.db.all(
                sa.select(*(audit_event.c[name] for name in AUDIT_COLUMNS))
                .where(
                    audit_event.c.id > last,
                    sa.or_(audit_event.c.actor.in_(names), audit_event.c.target.in_(names)),
                )
                .order_by(audit_event.c.id)
                .limit(AUDIT_BATCH)
            )
            if rows:
                yield [tuple(row) for row in rows]
            if len(rows) < AUDIT_BATCH:
                return
            last = rows[-1][0]

    async def exported(self, found: Account, *, actor: str, channel: str) -> None:
        """The export is an access to the person's mailbox and data (R13.4): recorded before it runs."""
        async with self.ctx.store.db.write() as conn:
            await audit.record(
                conn,
                at=self.ctx.now(),
                actor=actor,
                action="personal_data.exported",
                target=found.local,
                details={"channel": channel},
            )

    async def archive_imported(self, found: Account, *, actor: str, file_name: str) -> None:
        """An operator's import of an archive into the person's mailbox (R13.7) changes the mailbox
        on their behalf (R13.4): recorded before it runs."""
        async with self.ctx.store.db.write() as conn:
            await audit.record(
                conn,
                at=self.ctx.now(),
                actor=actor,
                action="mail.archive_imported",
                target=found.local,
                details={"file": file_name[:200]},
            )

    async def erase(self, address: str, *, basis: str, actor: str) -> Erased:
        """Erase the person's data on a lawful request (see the module's docstring)."""
        found = await self.accounts.get(address)
        basis = check_erasure(basis, await self.roles.roles_of(found.id))
        ref = basis[:REF_MAX]
        reason = lifecycle.Reason.LAWFUL_ERASURE
        after = lifecycle.transition(
            lifecycle.Status(found.status), lifecycle.Action.ERASE, reason=reason, ref=ref
        )
        # Sign-in stops before the mail goes: nothing is read from a mailbox being emptied.
        self.ctx.verifier.forget(found.id)
        db, mail = self.ctx.store.db, self.ctx.store.mail
        removed = 0
        for box in await mail.mailboxes(found.id):
            while uids := await contents.first_uids(db, box.id):
                removed += len(await mail.editor.expunge(found.id, box.id, uids))
        me = found.id
        now = self.ctx.now()
        async with db.write() as conn:
            for table, column in (
                (mailbox, mailbox.c.account_id),
                (orphan_subscription, orphan_subscription.c.account_id),
                (account_preference, account_preference.c.account_id),
                (vacation_reply, vacation_reply.c.account_id),
                (web_session, web_session.c.account_id),
                (app_password, app_password.c.account_id),
                (admin_factor, admin_factor.c.account_id),
                (sender_rule, sender_rule.c.account_id),
                (notice, notice.c.account_id),
                (archive_import, archive_import.c.account_id),
                (former_address, former_address.c.account_id),  # an old address names the person
            ):
                await conn.execute(sa.delete(table).where(column == me))
            await conn.execute(
                sa.delete(delegation).where(
                    sa.or_(delegation.c.person_account_id == me, delegation.c.mailbox_account_id == me)
                )
            )
            await conn.execute(
                sa.update(account)
                .where(account.c.id == me)
                .values(
                    family="",
                    middle="",
                    given="",
                    display_name=ERASED_NAME,
                    status=after.value,
                    status_reason=reason.value,
                    status_ref=ref,
                    status_changed_at=now,
                    purged_at=now,
                    last_access_at=None,
                    password_hash="",  # no password is left to check (`auth` treats it as none)
                    must_change_password=True,
                )
            )
            await audit.record(
                conn,
                at=now,
                actor=actor,
                action="personal_data.erased",
                target=found.local,
                reason=reason.value,
                ref=ref,
                details={"basis": basis, "from": found.status, "messages": removed},
            )
        self.ctx.verifier.forget(found.id)
        self.ctx.store.events.publish(rights_changed(found.id))
        return Erased(found.local, removed, found.status)
