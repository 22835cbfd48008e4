"""The jobs of the regulation's clock. Each reads the accounts once, acts on what is due, and
returns its counts for the operators' page.

- `passwords` (R5.2, R6.4b): a password 3 calendar months old becomes must-change; its owner is
  warned 14, 7 and 1 days before (the nearest warning due, once).
- `inactivity` (R6.5): a personal mailbox unused for 6 months since creation or last access is
  revoked; the owner and the agency's mailbox managers are warned 30 and 7 days before. Agency
  mailboxes are used through their delegates' own sign-ins, so they are not revoked for this.
- `quota` (R5.1): a notice at 80 %, 90 %, 95 % and full, once per crossing, to the owner (to the
  delegates for an agency mailbox); going back under a threshold lets it warn again later.
- `retention` (R6.3, R6.5): revoked and deleted mailboxes past the retention period (90 days) lose
  their mail, their blobs' references counted down (the collector frees them); a revoked one
  becomes deleted. After the quarantine (1 year) a deleted address may be given to someone else.
- `blobs`: message bodies no message refers to any more (after a grace period) leave the disk.
- `statistics` (R9.3): each day's picture of the mailboxes per agency, for the periodic reports.
- `quarantine` (R3.1): held outbound mail no operator decided on within `protection.quarantine_days`
  is deleted (audited, its body's reference given back), and decisions older than that forgotten.
- `backup` (R9.2): a backup a day into `backup.dir` when it is set, keeping `backup.keep` of them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import defaultdict

import sqlalchemy as sa

from hopthu.backup import snapshot
from hopthu.directory import audit
from hopthu.jobs.base import JobContext
from hopthu.jobs.notices import Notices
from hopthu.policy import lifecycle, passwords
from hopthu.policy.dates import VIETNAM
from hopthu.policy.quota import format_size
from hopthu.protection.quarantine import Quarantine
from hopthu.reports.gather import mailbox_states
from hopthu.store.quarantine import QuarantineStore
from hopthu.store.schema import (
    account,
    agency,
    alias,
    daily_stats,
    delegation,
    mail_usage,
    mailbox,
    message,
    role_grant,
)

ACTOR = "hopthu jobs"
PASSWORD_WARNING_DAYS = (14, 7, 1)


def _address(ctx: JobContext, local: str) -> str:
    return f"{local}@{ctx.settings.server.domain}"


def _nearest(due: dt.datetime, now: dt.datetime, days: tuple[int, ...]) -> int | None:
    """The smallest warning whose day has come (earlier ones not sent are not sent late)."""
    reached = [d for d in days if due - dt.timedelta(days=d) <= now]
    return min(reached) if reached else None


def _local_date(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


async def password_expiry(ctx: JobContext) -> dict[str, int]:
    db = ctx.services.store.db
    months = ctx.settings.policy.password_max_age_months
    rows = await db.all(
        sa.select(
            account.c.id, account.c.local, account.c.password_changed_at, account.c.must_change_password
        ).where(account.c.kind == "personal", account.c.status == "active")
    )
    notices = await Notices.load(ctx, "password")
    expired = warned = 0
    for account_id, local, changed_at, must_change in rows:
        expires = passwords.password_expires_at(changed_at, months)
        if ctx.now >= expires:
            if not must_change:
                async with db.write() as conn:
                    await conn.execute(
                        sa.update(account).where(account.c.id == account_id).values(must_change_password=True)
                    )
                    await audit.record(
                        conn, at=ctx.now, actor=ACTOR, action="account.password_expired", target=local
                    )
                expired += 1
            continue
        days = _nearest(expires, ctx.now, PASSWORD_WARNING_DAYS)
        if days is None:
            continue
        when = _local_date(expires)
        web = ctx.settings.server.web_url
        if await notices.send_once(
            account_id,
            f"{expires.date().isoformat()}:{days}",
            recipients=[_address(ctx, local)],
            subject=f"Mật khẩu hộp thư hết hạn sau {days} ngày",
            vi=f"Mật khẩu hộp thư {_address(ctx, local)} hết hạn ngày {when} (Quy chế: đổi mật khẩu 3 tháng"
            f" một lần). Hãy đổi mật khẩu tại {web}/doi-mat-khau trước ngày đó; sau ngày đó bạn phải đổi"
            " mật khẩu trước khi dùng hộp thư.",
            en=f"The password of {_address(ctx, local)} expires on {when}. Change it at {web}/doi-mat-khau"
            " before then; afterwards it must be changed before the mailbox can be used.",
        ):
            warned += 1
    return {"expired": expired, "warned": warned}


async def _managers(ctx: JobContext) -> dict[int, list[str]]:
    """Each agency's mailbox managers (those of the agencies above it included), by agency id."""
    db = ctx.services.store.db
    parents = dict(await db.all(sa.select(agency.c.id, agency.c.parent_id)))
    direct: dict[int, list[str]] = defaultdict(list)
    for agency_id, local in await db.all(
        sa.select(role_grant.c.agency_id, account.c.local)
        .select_from(role_grant.join(account, account.c.id == role_grant.c.account_id))
        .where(role_grant.c.role == "agency_manager", account.c.status == "active")
    ):
        direct[agency_id].append(local)
    found: dict[int, list[str]] = {}
    for agency_id in parents:
        chain, node, seen = [], agency_id, set()
        while node is not None and node not in seen:
            seen.add(node)
            chain.extend(direct.get(node, []))
            node = parents.get(node)
        found[agency_id] = chain
    return found


async def inactivity(ctx: JobContext) -> dict[str, int]:
    db = ctx.services.store.db
    rows = await db.all(
        sa.select(
            account.c.id, account.c.local, account.c.agency_id, account.c.created_at, account.c.last_access_at
        ).where(account.c.kind == "personal", account.c.status.in_(["active", "locked"]))
    )
    notices = await Notices.load(ctx, "revocation")
    managers = await _managers(ctx)
    accounts = ctx.directory.accounts
    revoked = warned = 0
    for account_id, local, agency_id, created_at, last_access_at in rows:
        due = lifecycle.revocation_due_at(created_at, last_access_at)
        if ctx.now >= due:
            await accounts.change_status(
                local, lifecycle.Action.REVOKE, reason="inactive", ref=None, actor=ACTOR
            )
            revoked += 1
            continue
        days = _nearest(due, ctx.now, lifecycle.WARNING_DAYS)
        if days is None:
            continue
        when = _local_date(due)
        owner = _address(ctx, local)
        if await notices.send_once(
            account_id,
            f"{due.date().isoformat()}:{days}",
            recipients=[owner, *(_address(ctx, m) for m in managers.get(agency_id, []))],
            subject=f"Hộp thư {owner} sẽ bị thu hồi sau {days} ngày",
            vi=f"Hộp thư {owner} chưa được sử dụng từ lâu và sẽ bị thu hồi ngày {when} (Quy chế: không truy"
            " cập trong 6 tháng). Chỉ cần đăng nhập (webmail, Outlook, điện thoại) trước ngày đó để giữ"
            " hộp thư.",
            en=f"The mailbox {owner} has not been used for a long time and will be revoked on {when}"
            " (6 months without access). Signing in once before then (webmail, Outlook, a phone) keeps it.",
        ):
            warned += 1
    return {"revoked": revoked, "warned": warned}


async def quota_notices(ctx: JobContext) -> dict[str, int]:
    db = ctx.services.store.db
    rows = await db.all(
        sa.select(account.c.id, account.c.local, account.c.kind, account.c.quota_bytes, mail_usage.c.bytes)
        .select_from(account.join(mail_usage, mail_usage.c.account_id == account.c.id))
        .where(account.c.status.in_(["active", "locked"]))
    )
    delegates: dict[int, list[str]] = defaultdict(list)
    for box_id, local in await db.all(
        sa.select(delegation.c.mailbox_account_id, account.c.local).select_from(
            delegation.join(account, account.c.id == delegation.c.person_account_id)
        )
    ):
        delegates[box_id].append(local)
    notices = await Notices.load(ctx, "quota")
    levels_of = (*ctx.settings.policy.quota_warn_percents, 100)
    warned = 0
    for account_id, local, kind, quota_bytes, used in rows:
        reached = {str(p) for p in levels_of if quota_bytes > 0 and used * 100 >= p * quota_bytes}
        await notices.forget(account_id, notices.sent[account_id] - reached)
        if not reached:
            continue
        highest = max(int(p) for p in reached)
        owner = _address(ctx, local)
        people = [_address(ctx, d) for d in delegates[account_id]] if kind == "agency" else [owner]
        full = highest >= 100
        if people and await notices.send_once(
            account_id,
            str(highest),
            recipients=people,
            subject=f"Hộp thư {owner} " + ("đã đầy" if full else f"đã dùng {highest}% dung lượng"),
            vi=f"Hộp thư {owner} đã dùng {format_size(used)} trên {format_size(quota_bytes)}."
            + (" Hộp thư đã đầy: thư mới tạm thời không nhận được." if full else "")
            + " Hãy xóa thư không cần, dọn Thùng rác, hoặc tải thư cũ về lưu trữ (Thư mục → Tải về).",
            en=f"The mailbox {owner} uses {format_size(used, decimal_mark='.')} of"
            f" {format_size(quota_bytes, decimal_mark='.')}."
            + (" It is full: new mail waits." if full else "")
            + " Delete what is not needed, empty the Trash, or download old mail to keep it.",
        ):
            warned += 1
    return {"warned": warned}


async def retention(ctx: JobContext) -> dict[str, int]:
    db = ctx.services.store.db
    mail = ctx.services.store.mail
    cutoff = ctx.now - dt.timedelta(days=ctx.settings.policy.retention_days)
    rows = await db.all(
        sa.select(account.c.id, account.c.local, account.c.status).where(
            account.c.status.in_(["revoked", "deleted"]),
            account.c.purged_at.is_(None),
            account.c.status_changed_at <= cutoff,
        )
    )
    purged = 0
    for account_id, local, status in rows:
        for box in await mail.mailboxes(account_id):
            while uids := [
                u
                for (u,) in await db.all(
                    sa.select(message.c.uid).where(message.c.mailbox_id == box.id).limit(1000)
                )
            ]:
                await mail.editor.expunge(account_id, box.id, uids)
        async with db.write() as conn:
            await conn.execute(sa.delete(mailbox).where(mailbox.c.account_id == account_id))
            values: dict = {"purged_at": ctx.now}
            if status == "revoked":
                values.update(status="deleted", status_reason="retention_ended", status_changed_at=ctx.now)
            await conn.execute(sa.update(account).where(account.c.id == account_id).values(**values))
            await audit.record(
                conn, at=ctx.now, actor=ACTOR, action="account.purged", target=local, reason="retention_ended"
            )
        purged += 1
    released = await _release_addresses(ctx)
    return {"purged": purged, "released": released}


async def _release_addresses(ctx: JobContext) -> int:
    """Deleted addresses past the quarantine become free: the account keeps its record under
    another name, its aliases go."""
    db = ctx.services.store.db
    cutoff = ctx.now - dt.timedelta(days=ctx.settings.policy.address_quarantine_days)
    rows = await db.all(
        sa.select(account.c.id, account.c.local).where(
            account.c.status == "deleted",
            account.c.purged_at.is_not(None),
            account.c.status_changed_at <= cutoff,
            ~account.c.local.contains("~"),
        )
    )
    for account_id, local in rows:
        async with db.write() as conn:
            await conn.execute(
                sa.update(account).where(account.c.id == account_id).values(local=f"{local}~{account_id}")
            )
            await conn.execute(sa.delete(alias).where(alias.c.account_id == account_id))
            await audit.record(conn, at=ctx.now, actor=ACTOR, action="account.address_released", target=local)
    return len(rows)


async def blobs(ctx: JobContext) -> dict[str, int]:
    """Bodies no message has referred to for the grace period are deleted from the blob folder."""
    return {"freed": await ctx.services.store.mail.collect_garbage()}


async def quarantine(ctx: JobContext) -> dict[str, int]:
    """Held messages past `protection.quarantine_days` are deleted (`protection.quarantine`)."""
    held = getattr(ctx.services, "quarantine", None)
    if held is None:  # `hopthu jobs run` outside the server
        store = ctx.services.store
        held = Quarantine(
            QuarantineStore(store.db, store.blobs, ctx.directory.ctx.now),
            ctx.directory,
            ctx.services.pipeline,
        )
    return {"deleted": await held.purge(ctx.now, actor=ACTOR)}


async def backup(ctx: JobContext) -> dict[str, int]:
    """The daily backup (R9.2) into `backup.dir`, keeping the newest `backup.keep`."""
    if not ctx.settings.backup.dir:
        return {"made": 0}
    dest = ctx.settings.path(ctx.settings.backup.dir)
    made = await snapshot.backup(ctx.settings, dest, now=ctx.now)
    removed = await asyncio.to_thread(snapshot.prune, dest, ctx.settings.backup.keep)
    return {"made": 1, "blobs_copied": made.blobs_copied, "removed": removed}


async def statistics(ctx: JobContext) -> dict[str, int]:
    """Today's picture of the mailboxes per agency, for reports on this period later (R9.3)."""
    db = ctx.services.store.db
    day = ctx.now.astimezone(VIETNAM).date()
    states = await mailbox_states(db)
    async with db.write() as conn:
        await conn.execute(sa.delete(daily_stats).where(daily_stats.c.day == day))
        if states:
            await conn.execute(
                sa.insert(daily_stats),
                [{"day": day, "agency_id": agency_id, **figures} for agency_id, figures in states.items()],
            )
    return {"agencies": len(states)}
