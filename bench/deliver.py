"""Delivering straight into the store: messages/s and bytes on disk per message, on both backends.

Two workloads: N messages of S bytes, each to one of R mailboxes, from C concurrent deliverers (the
shape of SMTP sessions arriving together; group commit shares their transactions); and one circular
of CIRCULAR bytes to M mailboxes (stored once). Durable as in production: blob fsync, then a database
commit with synchronous=FULL (SQLite) or fsync on (PostgreSQL), before a delivery returns.

    python bench/deliver.py [--messages 2000] [--size 4096] [--concurrency 20] [--recipients 1000]
                            [--mail-log together] [--backend sqlite,postgresql]

`--mail-log` writes each message's mail log entry (R13.1) as the pipeline does, in the delivery's own
transaction (`together`), or as a write transaction of its own after it (`separate`, the cost the
first way saves), or not at all (`none`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from common import circular, disk, fresh_pg, pg_size, run_per_backend

from hopthu.config import Settings, StoreSettings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.mail import canonical, parse
from hopthu.protection import trace
from hopthu.store import Store
from hopthu.store.maillog import LogEntry
from hopthu.store.mailstore import Target
from hopthu.store.schema import mail_log

FAMILIES = ["Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLES = ["Văn", "Thị", "Minh", "Ngọc", "Hữu", "Thanh", "Quốc", "Thị Kim"]
GIVENS = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Khoa",
    "Lan",
    "Minh",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Tâm",
    "Uyên",
    "Vy",
    "Xuân",
    "Yến",
    "Đạt",
    "Ánh",
]


def message(number: int, size: int) -> bytes:
    head = (
        "From: =?utf-8?b?Tmd1eeG7hW4gVsSDbiBNaW5o?= <nvminh@cantho.gov.vn>\r\n"
        "To: ttnanh@cantho.gov.vn\r\n"
        f"Subject: =?utf-8?q?C=C3=B4ng_v=C4=83n_s=E1=BB=91_{number}?=\r\n"
        "Date: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
        f"Message-ID: <{number}.{time.time_ns()}@bench.cantho.gov.vn>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    line = f"Kính gửi các đơn vị, văn bản số {number} về việc triển khai nhiệm vụ năm 2026.\r\n".encode()
    return canonical(head + line * max(1, (size - len(head)) // len(line)))


def log_entry(data: bytes, parsed: Any, recipient: str) -> LogEntry:
    """The entry the pipeline would make of a message from a neighbouring city's server."""
    made = trace.entry(
        at=dt.datetime.now(dt.UTC),
        channel="mx",
        client_ip="203.162.10.5",
        helo="mail.haugiang.gov.vn",
        mail_from="nvminh@haugiang.gov.vn",
        recipients=[recipient],
        data=data,
        parsed=parsed,
        prefix=b"Received: from mail.haugiang.gov.vn ([203.162.10.5])\r\n\tby mx.cantho.gov.vn (Hop Thu) "
        b"with ESMTPS id 5f2a9c31d0e4;\r\n\tMon, 02 Mar 2026 08:30:01 +0700\r\n",
        inspection=None,
        auth={"spf": "pass", "dkim": ["pass"], "dmarc": "pass", "dmarc_domain": "haugiang.gov.vn"},
        outcome="delivered",
    )
    made.reached = [recipient]
    return made


def people(count: int) -> list[PersonRow]:
    rows = []
    for n in range(count):
        rows.append(
            PersonRow(
                FAMILIES[n % 10],
                MIDDLES[(n // 10) % 8],
                GIVENS[(n // 80) % 20],
                "sonv",
                line=n + 1,
                address=f"canbo{n:05d}",
            )
        )
    return rows


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-bench-"))
    try:
        url = await fresh_pg("hopthu_bench") if backend == "postgresql" else ""
        settings = Settings(data_dir=folder, store=StoreSettings(database_url=url))
        store = await Store.open(settings)
        directory = Directory(DirectoryContext(store, settings))
        await directory.agencies.add("Sở Nội vụ", code="sonv", actor="bench")
        recipients = max(args.recipients, args.circular_recipients)
        results = await directory.people.register(people(recipients), actor="bench")
        accounts = [await directory.accounts.get(r.address) for r in results]
        targets = [Target(a.id, quota=a.quota_bytes) for a in accounts]
        before = disk(folder) + await pg_size(store.db.url)

        bodies = [message(n, args.size) for n in range(args.messages)]
        queue = list(enumerate(bodies))

        async def deliverer() -> None:
            while queue:
                number, data = queue.pop()
                parsed, target = parse(data), targets[number % args.recipients]
                entry = log_entry(data, parsed, f"{accounts[number % args.recipients].local}@cantho.gov.vn")
                if args.mail_log == "together":
                    await store.mail.deliver(data, parsed, [target], log=entry)
                    continue
                delivered = await store.mail.deliver(data, parsed, [target])
                if args.mail_log == "separate":
                    async with store.db.write() as conn:
                        await conn.execute(sa.insert(mail_log).values(entry.settle(delivered)))

        started = time.perf_counter()
        await asyncio.gather(*[deliverer() for _ in range(args.concurrency)])
        elapsed = time.perf_counter() - started
        after = disk(folder) + await pg_size(store.db.url)
        print(
            f"{backend:10} {args.messages} × {args.size} B, {args.concurrency} concurrent, "
            f"{args.recipients} mailboxes, mail log {args.mail_log}: "
            f"{args.messages / elapsed:8.1f} messages/s, "
            f"{(after - before) / args.messages:8.0f} bytes on disk per message"
        )

        circular_message = circular(args.circular_size)
        files_before = len(list(store.blobs.root.rglob("*.zst")))
        blob_bytes_before = disk(store.blobs.root)
        started = time.perf_counter()
        await store.mail.deliver(
            circular_message, parse(circular_message), targets[: args.circular_recipients]
        )
        elapsed = time.perf_counter() - started
        copies = len(list(store.blobs.root.rglob("*.zst"))) - files_before
        print(
            f"{backend:10} one {len(circular_message) / 2**20:.1f} MiB circular into "
            f"{args.circular_recipients} mailboxes: {elapsed:6.2f} s; body stored {copies}× "
            f"({(disk(store.blobs.root) - blob_bytes_before) / 2**10:.0f} KiB on disk)"
        )
        await store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--mail-log", choices=("none", "separate", "together"), default="together")


def main() -> None:
    run_per_backend(__doc__ or "", arguments, run)


if __name__ == "__main__":
    main()
