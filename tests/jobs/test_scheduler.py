"""The scheduler: each job once per period (a failed run is tried again), and on PostgreSQL one
leader among nodes, another taking over when it goes."""

from __future__ import annotations

import datetime as dt

from hopthu.jobs.base import Job, JobContext
from hopthu.jobs.scheduler import Scheduler
from tests.imap.conftest import RunningServer


def test_each_job_once_per_period(imapserver: RunningServer) -> None:
    calls: list[dt.datetime] = []
    failing = {"on": True}

    async def count(ctx: JobContext) -> dict[str, int]:
        calls.append(ctx.now)
        return {"calls": len(calls)}

    async def flaky(ctx: JobContext) -> dict[str, int]:
        if failing["on"]:
            raise RuntimeError("the disk is full")
        return {}

    jobs = (
        Job("daily", "", "", dt.timedelta(days=1), count),
        Job("flaky", "", "", dt.timedelta(hours=1), flaky),
    )
    scheduler = Scheduler(imapserver.services, jobs=jobs, node="a")
    morning = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # 08:00 in Vietnam
    runs = imapserver.run(scheduler.run_due_at(morning))
    assert [(r.job, r.status) for r in runs] == [("daily", "ok"), ("flaky", "failed")]
    assert "the disk is full" in runs[1].error
    later = morning + dt.timedelta(minutes=30)
    assert [r.job for r in imapserver.run(scheduler.run_due_at(later))] == ["flaky"]  # tried again
    failing["on"] = False
    assert [r.status for r in imapserver.run(scheduler.run_due_at(later))] == ["ok"]
    assert imapserver.run(scheduler.run_due_at(later)) == []
    next_day = morning + dt.timedelta(hours=16)  # 00:00 in Vietnam: a new day
    assert [r.job for r in imapserver.run(scheduler.run_due_at(next_day))] == ["daily", "flaky"]
    assert len(calls) == 2
    last = imapserver.run(scheduler.last_runs())
    assert [r.status for r in last["flaky"]] == ["ok", "ok", "failed", "failed"]


def test_one_leader_among_nodes(imapserver: RunningServer) -> None:
    first = Scheduler(imapserver.services, node="a")
    second = Scheduler(imapserver.services, node="b")
    assert imapserver.run(first.lead())
    postgresql = imapserver.services.store.db.backend == "postgresql"
    assert imapserver.run(second.lead()) is not postgresql  # SQLite is one node
    imapserver.run(first._let_go())  # the leader's connection goes
    assert imapserver.run(second.lead())
    imapserver.run(second._let_go())
