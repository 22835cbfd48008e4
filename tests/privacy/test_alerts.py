"""R9.2, R3.1: what needs an operator reaches their INBOX by mail, once a day while it holds: the
outbound queue past its threshold, a failed backup, the data disk low (the `alerts` job, the clock
moved as the jobs' tests do). Both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from hopthu.config import AlertSettings, Settings
from hopthu.jobs.scheduler import Scheduler
from hopthu.policy.dates import VIETNAM
from hopthu.store import jobruns
from hopthu.store.schema import blob, queue_item
from tests.imap.conftest import RunningServer

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=VIETNAM)


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """One waiting item is a long queue; a disk always has less than 100 % free."""
    return dataclasses.replace(server_settings, alerts=AlertSettings(queue_items=1, disk_free_percent=100.0))


def alerts(server: RunningServer, now: dt.datetime) -> dict:
    done = server.run(Scheduler(server.services, node="test").run("alerts", now))
    assert done.status == "ok", done.error
    return done.summary


def subjects(server: RunningServer, local: str) -> list[str]:
    mail = server.services.store.mail
    box = server.run(mail.mailbox(server.account_id(local), "INBOX"))
    return sorted(m.subject for m in server.run(mail.messages(box.id, limit=100)))


def queue_one_and_fail_a_backup(server: RunningServer) -> None:
    """A queue item not due for a day (the worker leaves it) and a failed backup run."""

    async def go() -> None:
        db = server.services.store.db
        async with db.write() as conn:
            await conn.execute(
                sa.insert(blob).values(hash="0" * 64, size=10, stored_size=10, refcount=1, created_at=T0)
            )
            await conn.execute(
                sa.insert(queue_item).values(
                    blob_hash="0" * 64,
                    sender="nvminh@cantho.gov.vn",
                    recipient="ban@example.org",
                    domain="example.org",
                    next_attempt_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
                    created_at=T0,
                )
            )
        run_id = await jobruns.started(db, "backup", "2026-06-01", "test", T0)
        await jobruns.finished(db, run_id, status="failed", summary=None, error="OSError: disk full", at=T0)

    server.run(go())


def test_r9_2_each_condition_mails_the_operators_once_a_day(imapserver: RunningServer) -> None:
    imapserver.run(imapserver.services.directory.roles.grant("ttnanh", "operator", actor="test"))
    assert alerts(imapserver, T0) == {"conditions": 1, "sent": 1}  # the disk alone
    disk = "Ổ đĩa dữ liệu sắp đầy / The data disk is filling up"
    assert subjects(imapserver, "ttnanh") == [disk]
    queue_one_and_fail_a_backup(imapserver)
    assert alerts(imapserver, T0 + dt.timedelta(hours=1)) == {
        "conditions": 3,
        "sent": 2,
    }  # not the disk again
    assert alerts(imapserver, T0 + dt.timedelta(hours=2)) == {"conditions": 3, "sent": 0}
    told = subjects(imapserver, "ttnanh")
    assert told == sorted(
        [
            disk,
            "Hàng đợi gửi thư có 1 thư / The outbound queue holds 1 items",
            "Sao lưu thất bại / A backup failed",
        ]
    )
    assert subjects(imapserver, "nvminh") == []  # operators only
    assert alerts(imapserver, T0 + dt.timedelta(days=1)) == {"conditions": 3, "sent": 3}  # still so, a day on
