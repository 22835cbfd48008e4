"""R13.7: mailboxes of a former province's server (a real Dovecot) brought into ours over IMAP, on
both store backends, and checked afterwards over IMAP on both sides: every message byte for byte,
with its flags and internal date, none twice; the hierarchy with Vietnamese names; special folders
merged into ours; a wrong password stopping one mailbox only; the quota checked before starting;
the old server going away mid-run and the rerun resuming; a second pass bringing only new mail."""

from __future__ import annotations

import asyncio
import time

import pytest

from hopthu.importing.engine import ImportOptions
from hopthu.importing.plan import Plan, plan_from_bytes
from hopthu.importing.service import MigrationService
from tests.imap.conftest import RunningServer, running_server
from tests.importing.conftest import OLD_USERS, assert_same, our_messages, seed, source_messages
from tests.importing.dovecot import MASTER, Dovecot, quoted
from tests.smtp.conftest import resolver, server_settings  # noqa: F401

HEADER = "old_address,server,tls,login,password,master_user,master_password,auth,new_address\n"


def plan(dovecot: Dovecot, *lines: str) -> Plan:
    """A plan of `old_user:mode:new_local` lines; mode `master` (LOGIN user*master), `master-plain`
    (PLAIN with the person as authorisation identity), `own` (the person's password, PLAIN) or
    `wrong` (a wrong password)."""
    rows = [HEADER]
    for line in lines:
        user, mode, new = line.split(":")
        server = f"127.0.0.1:{dovecot.port}"
        password = OLD_USERS[user] if mode == "own" else "Sai-mat-khau-9" if mode == "wrong" else ""
        master, master_password = MASTER if mode.startswith("master") else ("", "")
        auth = "plain" if mode in ("own", "master-plain") else "login"
        rows.append(
            f"{user}@soctrang.gov.vn,{server},none,{user},{password},{master},{master_password},{auth},"
            f"{new}@cantho.gov.vn\n"
        )
    return plan_from_bytes("plan.csv", "".join(rows).encode(), xlsx=False)


@pytest.fixture
def ours(server_settings, resolver):  # noqa: F811
    with running_server(server_settings, resolver) as running:
        yield running


def service(ours: RunningServer, **options: int) -> MigrationService:
    return MigrationService(
        ours.services.store,
        ours.services.directory.accounts,
        options=ImportOptions(**options),  # type: ignore[arg-type]
    )


def migrate(ours: RunningServer, migration: MigrationService, the_plan: Plan, concurrency: int = 2):
    async def work():
        run_id = await migration.open_run(the_plan, actor="test")
        return await migration.run(run_id, concurrency=concurrency)

    return ours.run(work())


def compare(ours: RunningServer, dovecot: Dovecot, old: str, new: str) -> int:
    client = ours.login(new)
    try:
        return assert_same(source_messages(dovecot, old), our_messages(client))
    finally:
        client.logout()


def test_import_then_incremental_pass_r13_7(ours: RunningServer, dovecot: Dovecot) -> None:
    """Two mailboxes in parallel (administrator login, and the person's own with PLAIN); then mail
    added on the old side arrives by a second pass, alone."""
    first = seed(dovecot, "minh.nv", 90, corpus=True)
    seed(dovecot, "anh.ttn", 30)
    the_plan = plan(dovecot, "minh.nv:master:nvminh", "anh.ttn:own:ttnanh")
    migration = service(ours, batch_messages=16)
    report = migrate(ours, migration, the_plan)
    assert [m.mailbox.status for m in report.mailboxes] == ["done", "done"], report
    by_line = {m.mailbox.old_address: m for m in report.mailboxes}
    assert by_line["minh.nv@soctrang.gov.vn"].mailbox.messages == first
    assert by_line["anh.ttn@soctrang.gov.vn"].mailbox.messages == 30
    assert compare(ours, dovecot, "minh.nv", "nvminh") == first
    assert compare(ours, dovecot, "anh.ttn", "ttnanh") == 30
    folders = {f.source_name: f for f in by_line["minh.nv@soctrang.gov.vn"].folders}
    assert folders["Sent Items"].target_name == "Sent"
    assert folders["Dự án/Năm 2019"].target_name == "Dự án/Năm 2019"
    assert sum(f.source_messages for f in folders.values()) == first

    seed(dovecot, "minh.nv", 12, start=1000)
    again = migrate(ours, service(ours), the_plan)
    assert again.run.id != report.run.id  # the first run was done: this is a new, incremental pass
    counts = {m.mailbox.old_address: m.mailbox.messages for m in again.mailboxes}
    assert counts == {"minh.nv@soctrang.gov.vn": 12, "anh.ttn@soctrang.gov.vn": 0}
    assert compare(ours, dovecot, "minh.nv", "nvminh") == first + 12


def test_wrong_password_stops_that_mailbox_only(ours: RunningServer, dovecot: Dovecot) -> None:
    seed(dovecot, "minh.nv", 10)
    seed(dovecot, "anh.ttn", 10)
    report = migrate(
        ours, service(ours), plan(dovecot, "minh.nv:wrong:nvminh", "anh.ttn:master-plain:ttnanh")
    )
    statuses = {m.mailbox.new_address: m.mailbox for m in report.mailboxes}
    refused = statuses["nvminh@cantho.gov.vn"]
    assert refused.status == "refused"
    assert "từ chối đăng nhập" in (refused.error or "") and "refused the login" in (refused.error or "")
    assert "Sai-mat-khau" not in (refused.error or "")
    assert statuses["ttnanh@cantho.gov.vn"].status == "done"
    assert compare(ours, dovecot, "anh.ttn", "ttnanh") == 10


def test_quota_overflow_is_reported_before_anything_is_stored_r5_1(
    ours: RunningServer, dovecot: Dovecot
) -> None:
    seed(dovecot, "minh.nv", 40, size=40_000)  # about 1.6 MB
    ours.run(ours.services.directory.accounts.set_quota("nvminh", 1024 * 1024, actor="test"))
    report = migrate(ours, service(ours), plan(dovecot, "minh.nv:master:nvminh"))
    (only,) = report.mailboxes
    assert only.mailbox.status == "over_quota"
    assert "dung lượng" in (only.mailbox.error or "") and "no room" in (only.mailbox.error or "")
    assert only.mailbox.messages == 0
    client = ours.login("nvminh")
    try:
        assert our_messages(client) == {}
    finally:
        client.logout()


def test_old_server_gone_mid_run_then_resumed(ours: RunningServer, dovecot: Dovecot) -> None:
    """Dovecot stops while the import runs: the mailbox is interrupted; once it is back, running
    the same plan resumes that run where it stopped, with nothing twice."""
    total = seed(dovecot, "minh.nv", 1500)
    the_plan = plan(dovecot, "minh.nv:master:nvminh")
    migration = service(ours, batch_messages=10, timeout=5)

    async def start():
        run_id = await migration.open_run(the_plan, actor="test")
        return run_id, asyncio.ensure_future(migration.run(run_id))

    run_id, task = ours.run(start())
    deadline = time.monotonic() + 30
    while migration.progress(run_id).messages_done < 100 and time.monotonic() < deadline:
        time.sleep(0.005)
    dovecot.stop()

    async def finished():
        return await task

    report = ours.run(finished())
    (first,) = report.mailboxes
    assert first.mailbox.status == "interrupted", first.mailbox
    assert "Không kết nối được" in (first.mailbox.error or "") or "mất kết nối" in (first.mailbox.error or "")
    assert 0 < first.mailbox.messages < total
    dovecot.start()
    again = migrate(ours, service(ours), the_plan)
    assert again.run.id == run_id  # the unfinished run, resumed
    assert again.mailboxes[0].mailbox.status == "done"
    assert compare(ours, dovecot, "minh.nv", "nvminh") == total


def test_uidvalidity_change_imports_the_folder_again_without_duplicates(
    ours: RunningServer, dovecot: Dovecot
) -> None:
    seed(dovecot, "minh.nv", 24)
    folder = quoted("Lưu & trữ")
    the_plan = plan(dovecot, "minh.nv:master:nvminh")
    migrate(ours, service(ours), the_plan)
    # The folder is made again on the old side (a restore, a new server): new UIDVALIDITY, same mail
    # plus one message more.
    with dovecot.client("minh.nv") as client:
        client.select(folder)
        _typ, data = client.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        kept = [(item[0], item[1]) for item in data if isinstance(item, tuple)]
        client.close()
        assert client.delete(folder)[0] == "OK"
        client.create(folder)
    from tests.importing.conftest import letter

    with dovecot.client("minh.nv") as client:
        import imaplib

        for head, body in kept:
            flags = head[head.index(b"FLAGS (") + 7 : head.index(b")", head.index(b"FLAGS ("))].decode()
            flags = " ".join(f for f in flags.split() if f != "\\Recent")
            date_at = head.index(b'INTERNALDATE "') + 13
            date = head[date_at : head.index(b'"', date_at + 1) + 1].decode()
            client.append(folder, f"({flags})" if flags else None, date, body)
        client.append(folder, None, imaplib.Time2Internaldate(time.time()), letter(9999))
    report = migrate(ours, service(ours), the_plan)
    (only,) = report.mailboxes
    assert only.mailbox.status == "done"
    assert only.mailbox.messages == len(kept) + 1  # counted: the kept ones recognised, one stored
    assert any("UIDVALIDITY" in note for note in only.notes)
    assert compare(ours, dovecot, "minh.nv", "nvminh") == 25
