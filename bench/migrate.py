"""Importing mailboxes from a former province's server (R13.7): messages/s and MB/s that
`MigrationService` brings from a local Dovecot, beside Dovecot's own `doveadm backup` pulling the
same mailboxes over `imapc` into a Maildir (what an operator would otherwise use).

Two mixes: about 20 KB a message (text, small attachments) and about 200 KB (documents attached),
sizes spread from half to one and a half times the mean, content random so nothing compresses. The
messages are spread over `--mailboxes` old accounts imported in parallel, over the folders the tests
use (Vietnamese names, special folders). Both sides are measured end to end: sign-in, listing,
fetching, storing (our side: durable, one delivery path, quota counted).

    PYTHONPATH=src python bench/migrate.py [--count 2000] [--large-count 400] [--mailboxes 2]
                                           [--backend sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Dovecot fixture

from common import fresh_pg, run_per_backend
from tests.importing.conftest import FLAGS, FOLDERS
from tests.importing.dovecot import MASTER, Dovecot, available, quoted, remove, temporary_root

from hopthu.config import PolicySettings, Settings, StoreSettings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.importing.plan import plan_from_bytes
from hopthu.importing.service import MigrationService
from hopthu.store import Store

PEOPLE = [("Nguyễn", "Văn", "Minh"), ("Trần", "Thị Ngọc", "Ánh"), ("Lê", "", "Minh"), ("Phạm", "Thị", "Lan")]


def message(number: int, size: int, rng: random.Random) -> bytes:
    head = (
        f"From: Van thu <vanthu@soctrang.gov.vn>\r\nTo: nguoi{number}@soctrang.gov.vn\r\n"
        f"Subject: Cong van {number}\r\nDate: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
        f"Message-ID: <bench.{number}@soctrang.gov.vn>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Kinh gui cac don vi.\r\n--b\r\nContent-Type: application/pdf\r\n"
        f'Content-Disposition: attachment; filename="cv{number}.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    raw = rng.randbytes(max(0, size - len(head) - 20) * 3 // 4)
    return head + base64.encodebytes(raw).replace(b"\n", b"\r\n") + b"--b--\r\n"


def seed(dovecot: Dovecot, users: list[str], count: int, mean: int) -> int:
    """`count` messages of about `mean` bytes spread over the users and folders; their bytes."""
    rng = random.Random(mean)
    total = 0
    with contextlib.ExitStack() as stack:
        clients = {user: stack.enter_context(dovecot.client(user)) for user in users}
        for client in clients.values():
            for folder in FOLDERS:
                client.create(quoted(folder))
        for number in range(count):
            client = clients[users[number % len(users)]]
            data = message(number, int(mean * rng.uniform(0.5, 1.5)), rng)
            dovecot.append(client, FOLDERS[number % len(FOLDERS)], data, FLAGS[number % len(FLAGS)])
            total += len(data)
    return total


async def ours(database_url: str, dovecot: Dovecot, users: list[str], data_dir: Path) -> float:
    settings = Settings(
        data_dir=data_dir,
        store=StoreSettings(database_url=database_url),
        policy=PolicySettings(signin_new_place_notice=False),
    )
    store = await Store.open(settings)
    try:
        directory = Directory(DirectoryContext(store, settings))
        await directory.agencies.add("Sở Nội vụ", actor="bench")
        rows = [PersonRow(f, m, g, "sonv") for f, m, g in PEOPLE[: len(users)]]
        made = await directory.people.register(rows, actor="bench")
        lines = ["old_address,server,tls,login,master_user,master_password,new_address"]
        for user, result in zip(users, made, strict=True):
            lines.append(
                f"{user}@soctrang.gov.vn,127.0.0.1:{dovecot.port},none,{user},{MASTER[0]},{MASTER[1]},"
                f"{result.address}@cantho.gov.vn"
            )
        plan = plan_from_bytes("bench.csv", ("\n".join(lines) + "\n").encode(), xlsx=False)
        service = MigrationService(store, directory.accounts)
        started = time.perf_counter()
        run_id = await service.open_run(plan, actor="bench")
        report = await service.run(run_id, concurrency=len(users))
        elapsed = time.perf_counter() - started
        assert not report.failed, [m.error for m in report.failed]
        return elapsed
    finally:
        await store.close()


def doveadm(dovecot: Dovecot, users: list[str], passwords: dict[str, str]) -> float | None:
    """`doveadm backup -R` of each mailbox from Dovecot over imapc into a Maildir, in parallel."""
    if shutil.which("doveadm") is None:
        return None
    dest = dovecot.root / "doveadm-copy"
    dest.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(dest, pwd.getpwnam(dovecot.mail_user).pw_uid, -1)
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [
                "doveadm",
                *("-c", str(dovecot.root / "dovecot.conf")),
                *("-o", "imapc_host=127.0.0.1", "-o", f"imapc_port={dovecot.port}"),
                *("-o", f"imapc_user={user}", "-o", f"imapc_password={passwords[user]}"),
                *("-o", "imapc_features=rfc822.size fetch-headers"),
                # Dovecot's own default: what it writes is fsynced, as our side's is (the test
                # server's configuration turns that off for speed, which would not be a fair race)
                *("-o", "mail_fsync=optimized"),
                *("-o", f"mail_location=maildir:{dest}/{user}"),
                *("backup", "-R", "-u", user, "imapc:"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for user in users
    ]
    for process in processes:
        _, error = process.communicate(timeout=1800)
        if process.returncode != 0:
            print(f"  doveadm backup failed: {error.decode(errors='replace')[-300:]}")
            return None
    return time.perf_counter() - started


async def bench(backend: str, args: argparse.Namespace) -> None:
    if not available():
        raise SystemExit("dovecot is not installed (Debian package dovecot-imapd)")
    users = ["minh.nv", "anh.ttn", "lan.pt", "hoa.lt"][: args.mailboxes]
    passwords = {user: f"Old-Pass-{i}" for i, user in enumerate(users, 1)}
    for label, mean, count in (("20 KB", 20_000, args.count), ("200 KB", 200_000, args.large_count)):
        root = temporary_root()
        data = Path(tempfile.mkdtemp(prefix="hopthu-bench-migrate-"))
        dovecot = Dovecot(root, dict(passwords))
        dovecot.start()
        try:
            size = await asyncio.to_thread(seed, dovecot, users, count, mean)
            url = (
                f"sqlite+aiosqlite:///{data / 'hopthu.db'}"
                if backend == "sqlite"
                else await fresh_pg("hopthu_bench_migrate")
            )
            ours_s = await ours(url, dovecot, users, data)
            theirs_s = await asyncio.to_thread(doveadm, dovecot, users, passwords)
            mb = size / 1024 / 1024
            print(
                f"{backend:10} {label:>6} mix: {count} messages, {mb:.0f} MB, {len(users)} mailboxes | "
                f"hopthu migrate {count / ours_s:7.0f} msg/s {mb / ours_s:6.1f} MB/s ({ours_s:.1f} s)",
                end="",
            )
            if theirs_s is None:
                print(" | doveadm backup: unavailable")
            else:
                rate = f"{count / theirs_s:7.0f} msg/s {mb / theirs_s:6.1f} MB/s"
                print(f" | doveadm backup (imapc) {rate} ({theirs_s:.1f} s)")
        finally:
            dovecot.stop()
            remove(root)
            shutil.rmtree(data, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, default=2000, help="messages of the 20 KB mix")
    parser.add_argument("--large-count", type=int, default=400, help="messages of the 200 KB mix")
    parser.add_argument("--mailboxes", type=int, default=2, choices=range(1, 5))


if __name__ == "__main__":
    run_per_backend(__doc__ or "", arguments, bench)
