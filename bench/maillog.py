"""The mail log's size (R13.1): bytes per entry on disk (table and indexes) and what 180 days at
200,000 messages a day come to, on both backends; and the compression of the document alone.

Entries are made the way the pipeline makes them (`protection.trace.entry`) from realistic messages:
a Received chain of 3 to 5 hops, Vietnamese subjects and display names, To and Cc, DKIM/SPF/DMARC
results and rspamd's symbols.

    python bench/maillog.py [--entries 50000] [--days 180] [--per-day 200000]
                            [--backend sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
import zstandard
from common import fresh_pg, run_per_backend

from hopthu.config import Settings, StoreSettings
from hopthu.mail import canonical, parse
from hopthu.protection import trace
from hopthu.protection.verdicts import EngineState, Inspection
from hopthu.store import Store
from hopthu.store.maillog import LogEntry, pack
from hopthu.store.schema import mail_log

SUBJECTS = [
    "Về việc triển khai kế hoạch cải cách hành chính năm 2026",
    "Thông báo lịch họp giao ban tuần {n}",
    "Báo cáo kết quả thực hiện nhiệm vụ quý {q}/2026",
    "Góp ý dự thảo Quyết định ban hành quy chế phối hợp",
    "Re: Đề nghị cung cấp số liệu phục vụ tổng kết",
    "Fwd: Công văn số {n}/UBND-VP về việc tăng cường an toàn thông tin",
    "Giấy mời dự hội nghị sơ kết 6 tháng đầu năm",
]
NAMES = ["Nguyễn Văn Minh", "Trần Thị Ngọc Lan", "Lê Hữu Phúc", "Phạm Quốc Dũng", "Huỳnh Thị Kim Yến"]
DOMAINS = ["cantho.gov.vn", "gmail.com", "mekong.edu.vn", "vnpt.vn", "haugiang.gov.vn", "outlook.com"]
RELAYS = [
    ("mail-sor-f41.google.com", "209.85.220.41", "mx.google.com"),
    ("mail.haugiang.gov.vn", "203.162.10.5", "mx1.haugiang.gov.vn"),
    ("smtp.vnpt.vn", "113.160.1.20", "mta-out.vnpt.vn"),
    ("EUR05-AM6-obe.outbound.protection.outlook.com", "40.107.22.61", "AM6PR05MB1234.eurprd05.prod"),
]
SYMBOLS = ["BAYES_HAM", "DMARC_POLICY_ALLOW", "MIME_GOOD", "R_DKIM_ALLOW", "R_SPF_ALLOW", "ARC_NA"]
SYMBOLS += ["FROM_HAS_DN", "TO_DN_SOME", "RCPT_COUNT_TWO", "MID_RHS_MATCH_FROM", "RCVD_TLS_LAST", "ASN"]


def _address(rng: random.Random) -> str:
    return (
        f"{rng.choice(['nvminh', 'ttnlan', 'lhphuc', 'pqdung', 'htkyen'])}{rng.randint(1, 999)}@"
        + rng.choice(DOMAINS)
    )


def _when(at: dt.datetime) -> str:
    return at.strftime("%a, %d %b %Y %H:%M:%S +0700")


def message(rng: random.Random, n: int, at: dt.datetime) -> tuple[bytes, str, list[str]]:
    """A realistic message from outside (its header, a short body), its sender and recipients."""
    sender = _address(rng)
    recipients = [
        f"canbo{rng.randint(1, 20000):05d}@cantho.gov.vn" for _ in range(rng.choice([1, 1, 1, 2, 3]))
    ]
    hops = []
    for hop in range(rng.randint(3, 5)):
        host, ip, by = rng.choice(RELAYS)
        stamp = _when(at - dt.timedelta(seconds=hop * 2))
        hops.append(
            f"Received: from {host} ({host} [{ip}])\r\n\tby {by} with ESMTPS id "
            f"{rng.getrandbits(64):016x}\r\n\tfor <{recipients[0]}>; {stamp}\r\n"
        )
    subject = rng.choice(SUBJECTS).format(n=n % 900 + 100, q=n % 4 + 1)
    head = (
        "".join(hops)
        + f"From: {rng.choice(NAMES)} <{sender}>\r\n"
        + f"To: {', '.join(recipients)}\r\n"
        + (f"Cc: {_address(rng)}\r\n" if n % 3 == 0 else "")
        + f"Subject: {subject}\r\nDate: {_when(at)}\r\n"
        + f"Message-ID: <{rng.getrandbits(96):024x}.{n}@{sender.split('@')[1]}>\r\n"
        + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    )
    body = "Kính gửi các đơn vị,\r\nĐề nghị các đơn vị phối hợp thực hiện.\r\n" * rng.randint(3, 40)
    return canonical((head + body).encode()), sender, recipients


def entry(rng: random.Random, n: int, at: dt.datetime) -> LogEntry:
    data, sender, recipients = message(rng, n, at)
    parsed = parse(data)
    inspection = Inspection(
        score=round(rng.uniform(-4, 6), 2),
        symbols={name: round(rng.uniform(-1, 2), 2) for name in rng.sample(SYMBOLS, rng.randint(6, 12))},
        engines=[EngineState("dnsbl", "ok"), EngineState("clamd", "ok"), EngineState("rspamd", "ok")],
    )
    made = trace.entry(
        at=at,
        channel="mx",
        client_ip=rng.choice(RELAYS)[1],
        helo=rng.choice(RELAYS)[0],
        mail_from=sender,
        recipients=recipients,
        data=data,
        parsed=parsed,
        prefix=b"",
        inspection=inspection,
        auth={
            "spf": "pass",
            "dkim": ["pass"],
            "dmarc": "pass",
            "dmarc_domain": sender.split("@")[1],
            "dmarc_policy": "none",
        },
        outcome="delivered",
    )
    made.details["fates"] = {r: "inbox" for r in recipients}
    return made


def entries(count: int, seed: int = 13) -> list[LogEntry]:
    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    return [entry(rng, n, start + dt.timedelta(seconds=n * 0.43)) for n in range(count)]


def compression(made: list[LogEntry]) -> None:
    """The document alone: JSON, zstd without a dictionary, zstd with the fixed one (what we store)."""
    import json

    plain = zstandard.ZstdCompressor(level=9)
    raw = [json.dumps(e.details, ensure_ascii=False, separators=(",", ":")).encode() for e in made[:5000]]
    json_size = statistics.mean(map(len, raw))
    zstd_size = statistics.mean(len(plain.compress(r)) for r in raw)
    stored = statistics.mean(len(pack(e.details)) for e in made[:5000])
    print(
        f"document: JSON {json_size:6.0f} B, zstd {zstd_size:6.0f} B, zstd + fixed dictionary {stored:6.0f} B"
    )


async def _sizes(store: Store, backend: str) -> int:
    """Bytes of the table and its indexes."""
    async with store.db.read() as conn:
        if backend == "postgresql":
            await conn.execute(sa.text("ANALYZE mail_log"))
            return (await conn.execute(sa.text("SELECT pg_total_relation_size('mail_log')"))).scalar_one()
        names = ["mail_log", *(index.name for index in mail_log.indexes)]
        query = sa.text(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN (" + ",".join(f"'{n}'" for n in names) + ")"
        )
        return (await conn.execute(query)).scalar_one()


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-bench-"))
    try:
        url = await fresh_pg("hopthu_bench_maillog") if backend == "postgresql" else ""
        store = await Store.open(Settings(data_dir=folder, store=StoreSettings(database_url=url)))
        made = entries(args.entries)
        if backend == "sqlite":
            compression(made)
        empty = await _sizes(store, backend)
        started = time.perf_counter()
        for first in range(0, len(made), 1000):
            rows = [e.row() for e in made[first : first + 1000]]
            async with store.db.write() as conn:
                await conn.execute(sa.insert(mail_log), rows)
        elapsed = time.perf_counter() - started
        per_entry = (await _sizes(store, backend) - empty) / len(made)
        total = per_entry * args.days * args.per_day
        print(
            f"{backend:10} {len(made)} entries: {per_entry:6.0f} bytes per entry (table + indexes); "
            f"{args.days} days × {args.per_day:,} a day = {total / 2**30:6.1f} GiB; "
            f"written at {len(made) / elapsed:8.0f} entries/s"
        )
        await store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--per-day", type=int, default=200_000)


def main() -> None:
    run_per_backend(__doc__ or "", arguments, run)


if __name__ == "__main__":
    main()
