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

from hopthu.backup import snapshot
from hopthu.directory import reporting, upkeep
from hopthu.jobs.base import JobContext
from hopthu.jobs.notices import Notices
from hopthu.policy import lifecycle, passwords
from hopthu.policy.dates import VIETNAM
from hopthu.policy.quota import format_size, reached_thresholds
from hopthu.protection.quarantine import Quarantine
from hopthu.reports.gather import mailbox_states
from hopthu.store import contents
from hopthu.store.quarantine import QuarantineStore

ACTOR = "hopthu jobs"


def _address(ctx: JobContext, local: str) -> str:
    return f"{local}@{ctx.settings.server.domain}"


def _local_date(moment: dt.datetime) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y")


async def password_expiry(ctx: JobContext) -> dict[str, int]:
    months = ctx.settings.policy.password_max_age_months
    notices = await Notices.load(ctx, "password")
    expired = warned = 0
    for found in await upkeep.password_ages(ctx.services.store.db):
        account_id, local = found.id, found.local
        if passwords.must_change_password(found.password_changed_at, False, ctx.now, months):
            if not found.must_change_password and await ctx.directory.accounts.expire_password(
                account_id, actor=ACTOR, at=ctx.now
            ):
                expired += 1
            continue
        expires = passwords.password_expires_at(found.password_changed_at, months)
        days = passwords.expiry_warning_due(expires, ctx.now)
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


async def inactivity(ctx: JobContext) -> dict[str, int]:
    db = ctx.services.store.db
    notices = await Notices.load(ctx, "revocation")
    managers = await upkeep.agency_managers(db)
    accounts = ctx.directory.accounts
    revoked = warned = 0
    for found in await upkeep.last_uses(db):
        account_id, local, agency_id = found.id, found.local, found.agency_id
        due = lifecycle.revocation_due_at(found.created_at, found.last_access_at)
        if ctx.now >= due:
            await accounts.change_status(
                local, lifecycle.Action.REVOKE, reason="inactive", ref=None, actor=ACTOR
            )
            revoked += 1
            continue
        days = lifecycle.revocation_warning_due(due, ctx.now)
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
    delegates = await upkeep.delegates(db)
    notices = await Notices.load(ctx, "quota")
    rules = ctx.directory.ctx.quota_rules
    warned = 0
    for found in await upkeep.usages(db):
        account_id, local, kind, quota_bytes, used = found
        reached = {str(p) for p in reached_thresholds(used, quota_bytes, rules)}
        await notices.forget(account_id, notices.sent[account_id] - reached)
        if not reached:
            continue
        highest = max(int(p) for p in reached)
        owner = _address(ctx, local)
        people = [_address(ctx, d) for d in delegates.get(account_id, [])] if kind == "agency" else [owner]
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
    days = ctx.settings.policy.retention_days
    purged = 0
    for ended in await upkeep.ended_before(db, lifecycle.retention_over_before(ctx.now, days)):
        for box in await mail.mailboxes(ended.id):
            while uids := await contents.first_uids(db, box.id):
                await mail.editor.expunge(ended.id, box.id, uids)
        await upkeep.mark_purged(db, ended, now=ctx.now, actor=ACTOR)
        purged += 1
    released = await upkeep.release_addresses(
        db,
        lifecycle.address_free_before(ctx.now, ctx.settings.policy.address_quarantine_days),
        now=ctx.now,
        actor=ACTOR,
    )
    return {"purged": purged, "released": released}


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
    await reporting.record_snapshot(
        db,
        day,
        [
            reporting.DailyState(
                agency_id,
                active=figures["active"],
                locked=figures["locked"],
                revoked=figures["revoked"],
                deleted=figures["deleted"],
                used_bytes=figures["used_bytes"],
            )
            for agency_id, figures in states.items()
        ],
    )
    return {"agencies": len(states)}
