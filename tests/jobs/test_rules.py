"""The regulation's clock (R5.1, R5.2, R6.3, R6.5), each rule with the clock moved across its
boundary (the day before, the day of, the day after), through the real server's services on both
backends: notices arrive as mail, once each."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from hopthu.jobs.scheduler import Scheduler
from hopthu.policy.dates import add_months
from hopthu.store.schema import account, blob
from tests.imap.conftest import RunningServer, message


def run(server: RunningServer, name: str, now: dt.datetime) -> dict:
    done = server.run(Scheduler(server.services, node="test").run(name, now))
    assert done.status == "ok", done.error
    return done.summary


def inbox_subjects(server: RunningServer, local: str) -> list[str]:
    mail = server.services.store.mail
    box = server.run(mail.mailbox(server.account_id(local), "INBOX"))
    return [m.subject for m in server.run(mail.messages(box.id, limit=100))]


def row(server: RunningServer, local: str):
    (found,) = server.run(server.services.store.db.all(sa.select(account).where(account.c.local == local)))
    return found


def test_r5_2_passwords_expire_after_three_months_with_warnings(imapserver: RunningServer) -> None:
    changed = max(row(imapserver, local).password_changed_at for local in ("nvminh", "ttnanh"))
    expires = add_months(changed, 3)  # the later of the two; the other is a moment earlier
    assert run(imapserver, "passwords", expires - dt.timedelta(days=15, minutes=1)) == {
        "expired": 0,
        "warned": 0,
    }
    assert run(imapserver, "passwords", expires - dt.timedelta(days=14))["warned"] == 2  # nvminh, ttnanh
    assert run(imapserver, "passwords", expires - dt.timedelta(days=13))["warned"] == 0  # once
    assert run(imapserver, "passwords", expires - dt.timedelta(days=7))["warned"] == 2
    assert run(imapserver, "passwords", expires - dt.timedelta(hours=23))["warned"] == 2
    assert not row(imapserver, "nvminh").must_change_password
    assert run(imapserver, "passwords", expires) == {"expired": 2, "warned": 0}  # the day it expires
    assert row(imapserver, "nvminh").must_change_password
    (expired,) = [
        e
        for e in imapserver.run(imapserver.services.directory.accounts.history("nvminh"))
        if e.action == "account.password_expired"
    ]
    assert expired.actor == "hopthu jobs" and expired.at == expires  # recorded at the run's moment
    assert run(imapserver, "passwords", expires + dt.timedelta(days=1)) == {"expired": 0, "warned": 0}
    warnings = [s for s in inbox_subjects(imapserver, "nvminh") if s.startswith("Mật khẩu")]
    assert sorted(warnings) == [f"Mật khẩu hộp thư hết hạn sau {d} ngày" for d in (1, 14, 7)]


def test_r6_5_unused_mailboxes_are_revoked_after_warnings(imapserver: RunningServer) -> None:
    directory = imapserver.services.directory
    imapserver.run(directory.roles.grant("ttnanh", "agency_manager", agency_code="sonv", actor="test"))
    created = row(imapserver, "nvminh").created_at
    used = created + dt.timedelta(days=40)
    with_access = sa.update(account).where(account.c.local == "ttnanh").values(last_access_at=used)

    async def touch() -> None:
        async with imapserver.services.store.db.write() as conn:
            await conn.execute(with_access)

    imapserver.run(touch())
    due = add_months(created, 6)
    assert run(imapserver, "inactivity", due - dt.timedelta(days=31)) == {"revoked": 0, "warned": 0}
    assert run(imapserver, "inactivity", due - dt.timedelta(days=30)) == {"revoked": 0, "warned": 1}
    assert run(imapserver, "inactivity", due - dt.timedelta(days=7)) == {"revoked": 0, "warned": 1}
    assert run(imapserver, "inactivity", due - dt.timedelta(days=1)) == {"revoked": 0, "warned": 0}
    assert run(imapserver, "inactivity", due) == {"revoked": 1, "warned": 0}  # nvminh, never used
    assert row(imapserver, "nvminh").status == "revoked" and row(imapserver, "ttnanh").status == "active"
    manager_copies = [s for s in inbox_subjects(imapserver, "ttnanh") if "thu hồi" in s]
    assert manager_copies == ["Hộp thư nvminh@cantho.gov.vn sẽ bị thu hồi sau 7 ngày"] * 1 + [
        "Hộp thư nvminh@cantho.gov.vn sẽ bị thu hồi sau 30 ngày"
    ]
    history = imapserver.run(directory.accounts.history("nvminh"))
    assert history[0].action == "account.revoked" and history[0].reason == "inactive"


def test_r5_1_quota_notices_once_per_crossing(imapserver: RunningServer) -> None:
    from hopthu.mail import canonical

    data = message("Báo cáo", "x" * 8000)
    unit = len(canonical(data))
    imapserver.run(imapserver.services.directory.accounts.set_quota("nvminh", 20 * unit, actor="test"))
    now = dt.datetime.now(dt.UTC)
    for _ in range(15):
        imapserver.deliver("nvminh", data)  # 75 % of the quota
    assert run(imapserver, "quota", now) == {"warned": 0}
    imapserver.deliver("nvminh", data)
    assert run(imapserver, "quota", now) == {"warned": 1}  # 80 %
    assert run(imapserver, "quota", now) == {"warned": 0}
    for _ in range(3):
        imapserver.deliver("nvminh", data)
    assert run(imapserver, "quota", now) == {"warned": 1}  # 95 %: the highest crossed, once
    mail = imapserver.services.store.mail
    inbox = imapserver.run(mail.mailbox(imapserver.account_id("nvminh"), "INBOX"))
    uids = [m.uid for m in imapserver.run(mail.messages(inbox.id, limit=100)) if m.subject == "Báo cáo"]
    imapserver.run(mail.expunge(inbox.id, uids[:6]))
    assert run(imapserver, "quota", now) == {"warned": 0}  # under every threshold now
    for _ in range(6):
        imapserver.deliver("nvminh", data)
    assert run(imapserver, "quota", now) == {"warned": 1}  # crossed again, told again
    notices = [s for s in inbox_subjects(imapserver, "nvminh") if "dung lượng" in s]
    assert notices == ["Hộp thư nvminh@cantho.gov.vn đã dùng 95% dung lượng"] * 2 + [
        "Hộp thư nvminh@cantho.gov.vn đã dùng 80% dung lượng"
    ]
    imapserver.run(imapserver.services.directory.accounts.set_quota("nvminh", 19 * unit, actor="test"))
    assert run(imapserver, "quota", now) == {"warned": 1}  # full now: the mailbox still takes the notice
    assert inbox_subjects(imapserver, "nvminh")[0] == "Hộp thư nvminh@cantho.gov.vn đã đầy"


def test_r6_3_retention_then_quarantine(imapserver: RunningServer) -> None:
    from hopthu.directory.people import PersonRow
    from hopthu.policy.lifecycle import Action

    directory = imapserver.services.directory
    imapserver.deliver("nvminh", message("Lưu trữ", "Nội dung."))
    digest = imapserver.run(
        imapserver.services.store.mail.messages(
            imapserver.run(
                imapserver.services.store.mail.mailbox(imapserver.account_id("nvminh"), "INBOX")
            ).id
        )
    )[0].blob_hash
    imapserver.run(
        directory.accounts.change_status("nvminh", Action.REVOKE, reason="inactive", ref=None, actor="t")
    )
    revoked_at = row(imapserver, "nvminh").status_changed_at
    assert run(imapserver, "retention", revoked_at + dt.timedelta(days=89)) == {"purged": 0, "released": 0}
    assert run(imapserver, "retention", revoked_at + dt.timedelta(days=90)) == {"purged": 1, "released": 0}
    gone = row(imapserver, "nvminh")
    assert gone.status == "deleted" and gone.purged_at is not None
    assert imapserver.run(imapserver.services.store.mail.usage(gone.id)) == (0, 0)
    (refs,) = imapserver.run(
        imapserver.services.store.db.all(sa.select(blob.c.refcount).where(blob.c.hash == digest))
    )
    assert refs[0] == 0  # the collector frees it after its grace period
    assert run(imapserver, "retention", revoked_at + dt.timedelta(days=91)) == {"purged": 0, "released": 0}
    year = revoked_at + dt.timedelta(days=90 + 365)
    assert run(imapserver, "retention", year - dt.timedelta(days=1))["released"] == 0
    assert run(imapserver, "retention", year)["released"] == 1
    (again,) = imapserver.run(
        directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="t")
    )
    assert again.address == "nvminh"  # the address is free for someone else after the quarantine
