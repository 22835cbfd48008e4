"""`alerts` (R9.2: incident alerting): what needs an operator is told to them by mail, into the
INBOX of every operator administrator (`RoleService.operators`), not only written in a table:

- the outbound queue holding `alerts.queue_items` items or more waiting to leave;
- the last run of the scheduled backup failed;
- the data folder's disk with less than `alerts.disk_free_percent` free (`shutil.disk_usage`).

Each condition is checked every run; while it holds, each operator is told at most once a day
(`policy.alerts.daily_key`, remembered in the notice table per operator), so a condition that lasts
a week is a mail a day, and one that comes back the next day is told again. An account locked for
sending spam is told when it happens, by the sending limits (`smtp.limits`) and the quarantine.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hopthu.jobs.base import JobContext
from hopthu.jobs.notices import Notices
from hopthu.policy import alerts as rules
from hopthu.policy.quota import format_size
from hopthu.store import jobruns, queue

KIND = "alert"


@dataclass(frozen=True, slots=True)
class Alert:
    condition: str  # the notice key's first part
    subject: str  # Vietnamese / English
    vi: str
    en: str


async def _queue(ctx: JobContext) -> Alert | None:
    threshold = ctx.settings.alerts.queue_items
    waiting = await queue.waiting(ctx.services.store.db)
    if not rules.queue_too_long(waiting, threshold):
        return None
    return Alert(
        "queue",
        f"Hàng đợi gửi thư có {waiting} thư / The outbound queue holds {waiting} items",
        f"Máy chủ {ctx.settings.hostname}: {waiting} thư đang chờ gửi ra ngoài (ngưỡng {threshold}). Thư"
        " không đi được: hãy xem hàng đợi (hopthu queue list) và lỗi của các lần gửi.",
        f"Server {ctx.settings.hostname}: {waiting} items wait to leave (threshold {threshold}). Mail is not"
        " getting out: look at the queue (hopthu queue list) and the errors of the attempts.",
    )


async def _backup(ctx: JobContext) -> Alert | None:
    runs = await jobruns.last(ctx.services.store.db, "backup", 3)
    finished = next((run for run in runs if run.status != "running"), None)
    if finished is None or finished.status != "failed":
        return None
    error = (finished.error or "")[:500]
    return Alert(
        "backup",
        "Sao lưu thất bại / A backup failed",
        f"Máy chủ {ctx.settings.hostname}: lần sao lưu hằng ngày gần nhất thất bại ({error}). Hãy kiểm tra"
        " thư mục sao lưu và chạy lại: hopthu jobs run backup.",
        f"Server {ctx.settings.hostname}: the last daily backup failed ({error}). Check the backup folder"
        " and run it again: hopthu jobs run backup.",
    )


async def _disk(ctx: JobContext) -> Alert | None:
    percent = ctx.settings.alerts.disk_free_percent
    usage = await asyncio.to_thread(shutil.disk_usage, ctx.settings.data_dir)
    if not rules.disk_low(usage.free, usage.total, percent):
        return None
    free = f"{format_size(usage.free)} / {format_size(usage.total)}"
    return Alert(
        "disk",
        "Ổ đĩa dữ liệu sắp đầy / The data disk is filling up",
        f"Máy chủ {ctx.settings.hostname}: ổ đĩa chứa dữ liệu ({ctx.settings.data_dir}) còn trống {free},"
        f" dưới {percent:g}%. Khi đầy, thư không nhận được nữa: hãy giải phóng hoặc mở rộng ổ đĩa.",
        f"Server {ctx.settings.hostname}: the data disk ({ctx.settings.data_dir}) has {free} free, under"
        f" {percent:g}%. When it is full no mail can be received: free or grow the disk.",
    )


CHECKS: tuple[Callable[[JobContext], Awaitable[Alert | None]], ...] = (_queue, _backup, _disk)


async def watch(ctx: JobContext) -> dict[str, int]:
    """Check every condition; tell each operator of those that hold, once a day each."""
    directory = ctx.directory
    operators = [await directory.accounts.get(local) for local in await directory.roles.operators()]
    notices = await Notices.load(ctx, KIND)
    domain = ctx.settings.server.domain
    counts = {"conditions": 0, "sent": 0}
    for check in CHECKS:
        alert = await check(ctx)
        if alert is None:
            continue
        counts["conditions"] += 1
        key = rules.daily_key(alert.condition, ctx.now)
        for operator in operators:
            if await notices.send_once(
                operator.id,
                key,
                recipients=[operator.address(domain)],
                subject=alert.subject,
                vi=alert.vi,
                en=alert.en,
            ):
                counts["sent"] += 1
    return counts
