"""The scheduler inside `hopthu serve`: every minute, the jobs whose period has no successful run yet
are run, one after another, on one node only. With PostgreSQL the node holding an advisory lock
leads; the others wait and take over when its connection goes. SQLite means one node.

Every run is a `job_run` row: started, then ok with the job's counts or failed with the error, so
operators see the last runs (`hopthu jobs list`, the portal) and a failed run is tried again at the
next minute. The clock is the process's (tests move it); `hopthu jobs run` uses the real one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from typing import Any

from hopthu.jobs import accesslog, alerts, dmarc, former, maillog, rules
from hopthu.jobs.base import Job, JobContext
from hopthu.metrics.meters import UNWIRED
from hopthu.store import jobruns

log = logging.getLogger("hopthu.jobs")
TICK_SECONDS = 60.0
FIRST_TICK_SECONDS = 15.0  # a starting node serves first, then looks at the clock
LOCK_KEY = 0x486F7054687521  # "HopThu!": the advisory lock of the jobs' leader
DAY = dt.timedelta(days=1)

JOBS = (
    Job(
        "passwords",
        "Mật khẩu hết hạn và nhắc đổi (5.2)",
        "Password expiry and warnings (R5.2)",
        DAY,
        rules.password_expiry,
    ),
    Job(
        "inactivity",
        "Thu hồi hộp thư không dùng 6 tháng (6.5)",
        "Revoking mailboxes unused for 6 months (R6.5)",
        DAY,
        rules.inactivity,
    ),
    Job(
        "quota",
        "Cảnh báo dung lượng (5.1)",
        "Quota notices (R5.1)",
        dt.timedelta(hours=1),
        rules.quota_notices,
    ),
    Job(
        "retention",
        "Xóa dữ liệu hết hạn lưu giữ (6.3, 6.5)",
        "Purging data past retention (R6.3, R6.5)",
        DAY,
        rules.retention,
    ),
    Job(
        "blobs",
        "Giải phóng nội dung thư không còn dùng",
        "Freeing message bodies no longer used",
        dt.timedelta(hours=6),
        rules.blobs,
    ),
    Job(
        "statistics",
        "Số liệu hằng ngày cho báo cáo (9.3)",
        "Daily figures for the reports (R9.3)",
        DAY,
        rules.statistics,
    ),
    Job(
        "quarantine",
        "Xóa thư bị giữ lại quá hạn (3.1)",
        "Deleting held messages past their keeping time (R3.1)",
        DAY,
        rules.quarantine,
    ),
    Job("backup", "Sao lưu hằng ngày (9.2)", "Daily backup (R9.2)", DAY, rules.backup),
    Job(
        "dmarc",
        "Gửi báo cáo DMARC tổng hợp cho các tên miền gửi thư đến (RFC 7489)",
        "DMARC aggregate reports to the domains that mailed us (RFC 7489)",
        DAY,
        dmarc.aggregate_reports,
    ),
    Job(
        "maillog",
        "Xóa nhật ký thư quá hạn lưu (13.1)",
        "Purging the mail log past its keeping (R13.1)",
        DAY,
        maillog.purge,
    ),
    Job(
        "alerts",
        "Báo cho quản trị: hàng đợi, sao lưu, ổ đĩa (9.2)",
        "Alerting the operators: queue, backup, disk (R9.2)",
        dt.timedelta(minutes=15),
        alerts.watch,
    ),
    Job(
        "accesslog",
        "Xóa nhật ký truy cập quá 12 tháng (13.4)",
        "Purging the access log past 12 months (R13.4)",
        DAY,
        accesslog.purge,
    ),
    Job(
        "former",
        "Quên người gửi đã được báo địa chỉ mới quá một kỳ (13.7)",
        "Forgetting the senders told a new address more than a period ago (R13.7)",
        DAY,
        former.forget_notices,
    ),
)


Run = jobruns.JobRun  # one run of a job, as the store records it


class Scheduler:
    def __init__(self, services: Any, *, jobs: tuple[Job, ...] = JOBS, node: str | None = None) -> None:
        self.services = services
        self.jobs = {job.name: job for job in jobs}
        self.node = node or socket.gethostname()
        self._lock: jobruns.LeaderLock | None = None

    @property
    def db(self) -> Any:
        return self.services.store.db

    def now(self) -> dt.datetime:
        return self.services.directory.ctx.now()

    async def due(self, now: dt.datetime) -> list[Job]:
        done = await jobruns.done_since(self.db, now - 2 * max(j.every for j in self.jobs.values()))
        return [job for job in self.jobs.values() if (job.name, job.slot(now)) not in done]

    async def run(self, name: str, now: dt.datetime | None = None) -> Run:
        """Run one job now (it is safe to repeat); its run as recorded."""
        job = self.jobs[name]
        now = now or self.now()
        run_id = await jobruns.started(self.db, job.name, job.slot(now), self.node, now)
        status, summary, error = "ok", None, None
        try:
            summary = await job.run(JobContext(self.services, now))
        except Exception as failure:
            log.exception("job %s failed", job.name)
            status, error = "failed", f"{type(failure).__name__}: {failure}"[:2000]
        await jobruns.finished(self.db, run_id, status=status, summary=summary, error=error, at=self.now())
        getattr(self.services, "meters", UNWIRED).job_ran(job.name, status)
        return Run(job.name, job.slot(now), self.node, now, self.now(), status, summary, error)

    async def run_due(self) -> list[Run]:
        return await self.run_due_at(self.now())

    async def run_due_at(self, now: dt.datetime) -> list[Run]:
        """Run what is due at `now` (the scheduler's tick, or a test moving the clock)."""
        return [await self.run(job.name, now) for job in await self.due(now)]

    async def lead(self) -> bool:
        """Whether this node runs the jobs: always on SQLite; on PostgreSQL while it holds the lock."""
        if self.db.backend != "postgresql":
            return True
        if self._lock is None:
            self._lock = jobruns.LeaderLock(self.db, LOCK_KEY)
        if self._lock.held:
            return True
        if not await self._lock.try_take():
            return False
        log.info("this node (%s) runs the scheduled jobs", self.node)
        return True

    async def loop(self) -> None:
        """Until cancelled: each minute, lead if possible and run what is due."""
        try:
            await asyncio.sleep(FIRST_TICK_SECONDS)
            while True:
                try:
                    if await self.lead():
                        await self.run_due()
                except Exception:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        raise  # the server is stopping: what the cancel broke off is no failure
                    log.exception("the scheduler's tick failed; trying again in a minute")
                    await self._let_go()
                await asyncio.sleep(TICK_SECONDS)
        finally:
            await self._let_go()

    async def _let_go(self) -> None:
        """Stop leading: the lock is released and its connection closed for good."""
        if self._lock is not None:
            try:
                await self._lock.release()
            except Exception:
                log.debug("closing the leader's connection failed", exc_info=True)

    async def last_runs(self, per_job: int = 5) -> dict[str, list[Run]]:
        return {name: await jobruns.last(self.db, name, per_job) for name in self.jobs}
