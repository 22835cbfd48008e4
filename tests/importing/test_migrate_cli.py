"""R13.7 through the real command line: `hopthu migrate PLAN` killed with SIGKILL halfway through
5,000 messages and run again (nothing lost, nothing twice), a second pass after new mail arrives on
the old side, `hopthu migrate status`, the report files, and a wrong password failing the command
with both languages and without showing the password. Checked over IMAP on both sides."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hopthu.config import load_settings
from hopthu.server import Server, with_ports
from tests.cli.conftest import Cli
from tests.imap.conftest import start_in_thread
from tests.importing.conftest import assert_same, our_messages, seed, source_messages
from tests.importing.dovecot import MASTER, Dovecot
from tests.smtp.conftest import PASSWORD, resolver  # noqa: F401

PEOPLE = (("Nguyễn", "Văn", "Minh"), ("Trần", "Thị Ngọc", "Ánh"))


def prepare(cli: Cli) -> dict[str, str]:
    """An installation with nvminh and ttnanh; their temporary passwords."""
    cli.init()
    assert cli("agency", "add", "--name", "Sở Nội vụ").code == 0
    passwords = {}
    for family, middle, given in PEOPLE:
        made = cli(
            "account",
            "add",
            "--family",
            family,
            "--middle",
            middle,
            "--given",
            given,
            "--agency",
            "sonv",
            "--json",
        )
        assert made.code == 0, made.err
        passwords[made.json()["address"]] = made.json()["temporary_password"]
    return passwords


def write_plan(path: Path, dovecot: Dovecot, lines: list[tuple[str, str, str]]) -> Path:
    """Lines of (old user, new local, password or "" for the administrator's login)."""
    rows = ["Địa chỉ cũ,Máy chủ,tls,login,Mật khẩu,master_user,master_password,Địa chỉ mới"]
    for old, new, password in lines:
        master = ("", "") if password else MASTER
        rows.append(
            f"{old}@soctrang.gov.vn,127.0.0.1:{dovecot.port},none,{old},{password},{master[0]},{master[1]},"
            f"{new}@cantho.gov.vn"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def imported(data: Path) -> int:
    """Messages the checkpoints count as imported (read-only, beside the running importer)."""
    try:
        with sqlite3.connect(f"file:{data / 'hopthu.db'}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COALESCE(SUM(messages), 0) FROM import_folder").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_killed_then_resumed_then_incremental_over_5000_messages(
    tmp_path: Path,
    dovecot: Dovecot,
    resolver,  # noqa: F811
) -> None:
    cli = Cli(tmp_path / "data", f"sqlite+aiosqlite:///{tmp_path / 'data' / 'hopthu.db'}")
    passwords = prepare(cli)
    total_minh = seed(dovecot, "minh.nv", 4000, size=900, corpus=True)
    total_anh = seed(dovecot, "anh.ttn", 5000 - total_minh, size=900)
    plan = write_plan(tmp_path / "plan.csv", dovecot, [("minh.nv", "nvminh", ""), ("anh.ttn", "ttnanh", "")])
    reports = tmp_path / "reports"

    command = [
        sys.executable,
        "-m",
        "hopthu",
        "--data",
        str(cli.data),
        "migrate",
        str(plan),
        "--concurrency",
        "2",
    ]
    killed = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while imported(cli.data) < 800 and time.monotonic() < deadline and killed.poll() is None:
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(10)
    halfway = imported(cli.data)
    assert 0 < halfway < 5000, halfway

    resumed = cli("migrate", str(plan), "--concurrency", "2", "--report", str(reports), "--json")
    assert resumed.code == 0, resumed.err
    report = resumed.json()
    assert [m["mailbox"]["status"] for m in report["mailboxes"]] == ["done", "done"]
    assert report["run"]["id"] == 1  # the run the kill interrupted
    assert sum(f["messages"] for m in report["mailboxes"] for f in m["folders"]) == total_minh + total_anh
    assert sorted(p.name for p in reports.iterdir()) == [
        "migration-run-1-folders.csv",
        "migration-run-1-skipped.csv",
        "migration-run-1.json",
    ]
    assert "Dự án/Năm 2019" in (reports / "migration-run-1-folders.csv").read_text(encoding="utf-8-sig")

    seed(dovecot, "minh.nv", 15, start=9000)
    second = cli("migrate", str(plan), "--json")
    assert second.code == 0, second.err
    assert second.json()["run"]["id"] == 2
    assert [m["mailbox"]["messages"] for m in second.json()["mailboxes"]] == [15, 0]

    status = cli("migrate", "status")
    assert status.code == 0 and "Run 2" in status.out and "Run 1" in status.out, status.out

    settings = with_ports(
        load_settings(cli.data),
        http_port=0,
        https_port=0,
        mx_port=0,
        submission_port=0,
        submissions_port=0,
        imap_port=0,
        imaps_port=0,
        pop3_port=0,
        pop3s_port=0,
    )
    running = start_in_thread(Server(settings, resolver=resolver))
    try:
        for address, temporary in passwords.items():
            running.run(running.services.directory.accounts.change_password(address, temporary, PASSWORD))
        for old, new, expected in (("minh.nv", "nvminh", total_minh + 15), ("anh.ttn", "ttnanh", total_anh)):
            client = running.login(new)
            try:
                assert assert_same(source_messages(dovecot, old), our_messages(client)) == expected
            finally:
                client.logout()
    finally:
        running.stop()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_wrong_password_fails_the_command_without_showing_it(
    cli: Cli, tmp_path: Path, dovecot: Dovecot
) -> None:
    prepare(cli)
    seed(dovecot, "anh.ttn", 5)
    plan = write_plan(
        tmp_path / "plan.csv", dovecot, [("minh.nv", "nvminh", "Khong-Dung-7"), ("anh.ttn", "ttnanh", "")]
    )
    done = cli("migrate", str(plan))
    assert done.code == 1
    assert "từ chối đăng nhập" in done.err and "refused the login" in done.err
    assert "Khong-Dung-7" not in done.out + done.err
    assert MASTER[1] not in done.out + done.err
    assert "xong / done" in done.out  # the other mailbox


def test_bad_plan_names_every_bad_line(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "old_address,server,password,new_address\n"
        "a@soctrang.gov.vn,mail.soctrang.gov.vn:993,Bi-Mat-1,nvminh@cantho.gov.vn\n"
        "khong-phai-dia-chi,mail.soctrang.gov.vn:993,Bi-Mat-2,nvminh@cantho.gov.vn\n"
        "b@soctrang.gov.vn,mail.soctrang.gov.vn,Bi-Mat-3,ttnanh@cantho.gov.vn\n"
        "c@soctrang.gov.vn,mail.soctrang.gov.vn:143,,ttnanh@cantho.gov.vn\n",
        encoding="utf-8",
    )
    done = cli("migrate", str(plan))
    assert done.code == 1
    assert "Dòng 3" in done.err and "Line 3" in done.err
    assert "Dòng 4" in done.err and "host:port" in done.err
    assert "Dòng 5" in done.err and "password" in done.err
    assert "Bi-Mat" not in done.err
    assert json.dumps(done.err)  # one readable message, no traceback (checked by `Cli`)
