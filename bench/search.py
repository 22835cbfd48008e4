"""IMAP SEARCH in a large INBOX: TEXT, BODY, SUBJECT and FROM for rare and common words, answered
from the full-text index of the bodies' search text (`store.textindex`).

The INBOX is filled with N generated Vietnamese letters, each a distinct body (its own dossier
number, sender, sentences). They go through delivery's own transaction (`store.delivery.apply_batch`,
which writes the message rows, the blob rows and the search text with its index, thousands per
transaction) after `mail.parse`, as delivery does; only the blob files are written without fsync and
the parsing runs in a process pool, so that a million messages take minutes. Then one IMAP
connection (LOGIN, SELECT INBOX) times `UID SEARCH CHARSET UTF-8 <key> "<word>"`, Q times per key
and kind of word, and the webmail search's own query (the newest 50 of a word, in this process);
the figures printed are p50 and p99 per criterion, and the disk each message costs (database +
blob files) beside its compressed body.

    python bench/search.py [--messages 50000,1000000] [--queries 20] [--backend sqlite,postgresql]
                           [--keep FOLDER]

Dovecot 2.3 with fts-xapian on the same generated mail, for comparison: TEXT/BODY/SUBJECT in
7-12 ms at 50,000 messages (after a 6-minute index build).
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import os
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import zstandard
from common import disk, fresh_pg, pg_size, run_per_backend
from imap_load import Client, client_tls, hopthu, percentile, start

from hopthu.config import load_settings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.mail import canonical, parse
from hopthu.store import Store
from hopthu.store.blobs import Staged, blob_hash
from hopthu.store.delivery import apply_batch
from hopthu.store.schema import blob, mailbox
from hopthu.store.types import DeliveryJob, Target
from hopthu.store.websearch import SearchFilter, newest_matching, reads_text_first

PASSWORD = "Hop-Thu-2026"
BATCH = 2000
RESULTS: list[tuple[str, str]] = []

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Thanh", "Minh", "Ngọc", "Quốc", "Thu", "Hoài"]
GIVEN = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hùng",
    "Khoa",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Minh",
    "Nam",
    "Nga",
    "Nhung",
    "Phong",
    "Phúc",
    "Quang",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Vy",
    "Yến",
]
AGENCIES = ["sonv", "soyte", "sogddt", "sotc", "sokhdt", "sotnmt", "sogtvt", "soxd", "soct", "sotp"]
TOPICS = [
    "tuyển dụng công chức",
    "kế hoạch năm học",
    "dự toán ngân sách",
    "cải cách hành chính",
    "phòng chống dịch",
    "quy hoạch đô thị",
    "chuyển đổi số",
    "tiếp công dân",
    "thi đua khen thưởng",
    "an toàn giao thông",
    "bồi thường giải phóng mặt bằng",
    "kiểm tra chuyên ngành",
    "đào tạo bồi dưỡng",
    "văn hóa công sở",
]
# Words of administrative letters, most frequent first (drawn with Zipf-like weights).
_PROSE = (
    "và của các về việc theo được trong cho đơn vị thực hiện thành phố Cần Thơ ủy ban nhân dân sở ban ngành "
    "quận huyện đề nghị báo cáo kết quả triển khai kế hoạch nội dung văn bản quy định hướng dẫn tổ chức "
    "phối hợp đồng chí lãnh đạo chỉ đạo năm 2026 tháng quý số liệu tổng hợp trước ngày gửi về thời gian "
    "đảm bảo chất lượng hiệu quả nhiệm vụ trọng tâm giải pháp khó khăn vướng mắc kiến nghị đề xuất công tác "
    "kiểm tra giám sát đánh giá thủ tục hồ sơ trực tuyến dịch vụ công người dân doanh nghiệp "
    "cán bộ viên chức "
    "ngân sách kinh phí dự toán quyết toán tài sản công đầu tư xây dựng dự án công trình hạ tầng giao thông "
    "môi trường đất đai tài nguyên nước y tế giáo dục học sinh trường bệnh viện trạm xã phường thị trấn "
    "hội nghị cuộc họp giấy mời thông báo kết luận chỉ thị nghị quyết tờ trình công văn khẩn mật lưu trữ"
)
WORDS = _PROSE.split()
WEIGHTS = [1 / (rank + 8) for rank in range(len(WORDS))]

# What is searched: (criterion, kind, needle or None for a per-query rare one)
QUERIES: list[tuple[str, str, str | None]] = [
    ("TEXT", "rare", None),
    ("TEXT", "common", "thành phố"),
    ("TEXT", "address", None),
    ("BODY", "rare", None),
    ("BODY", "common", "báo cáo"),
    ("SUBJECT", "rare", None),
    ("SUBJECT", "common", "công văn"),
    ("SUBJECT", "middling", "số 12"),  # letters 12, 120-129, 1200-1299, ...: 1,111 of 50,000
    ("FROM", "rare", None),
    ("FROM", "common", "nguyễn"),
    ("TEXT", "2 chars", "qz"),
]


def letter(number: int, to: str) -> bytes:
    """A distinct letter: its own dossier number (HS-<n>) and sender; ~1-2 KB of Vietnamese."""
    rng = random.Random(number)
    name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
    agency = rng.choice(AGENCIES)
    sender = f"cb{number % 5000:04d}@{agency}.cantho.gov.vn"
    copy = f"vt{(number * 7) % 9973:04d}@{rng.choice(AGENCIES)}.cantho.gov.vn"
    topic = rng.choice(TOPICS)
    sentences = []
    for _ in range(rng.randint(6, 14)):
        words = rng.choices(WORDS, WEIGHTS, k=rng.randint(8, 18))
        sentences.append(" ".join(words).capitalize() + ".")
    body = (
        f"Kính gửi: Các sở, ban, ngành thành phố.\r\n\r\nVề việc {topic}, hồ sơ số HS-{number:07d}.\r\n"
        + "\r\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
        + f"\r\n\r\nNơi nhận: như trên.\r\n{name}\r\n"
    )
    head = (  # UTF-8 header fields (RFC 6532), as most mail from Vietnamese clients is
        f"From: {name} <{sender}>\r\nTo: {to}\r\nCc: {copy}\r\n"
        f"Subject: Công văn số {number}/{agency.upper()} về {topic}\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <{number}.search@bench>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode()
    return canonical(head + body.encode())


_compressor = zstandard.ZstdCompressor(level=3, write_content_size=True)


def _prepare(numbers: range, to: str, blob_root: str) -> list[tuple[bytes, Any, str, int]]:
    """In a worker process: letters made, parsed as delivery parses, bodies written (no fsync)."""
    done = []
    for number in numbers:
        data = letter(number, to)
        digest = blob_hash(data)
        compressed = _compressor.compress(data)
        place = Path(blob_root) / digest[:2] / digest[2:4]
        place.mkdir(parents=True, exist_ok=True)
        (place / f"{digest}.zst").write_bytes(compressed)
        done.append((data, parse(data), digest, len(compressed)))
    return done


async def fill(data: Path, count: int) -> None:
    settings = load_settings(data)
    store = await Store.open(settings)
    try:
        directory = Directory(DirectoryContext(store, settings))
        await directory.agencies.add("Sở Nội vụ", code="sonv", actor="bench")
        [result] = await directory.people.register(
            [PersonRow("Nguyễn", "Văn", "Minh", "sonv", address="timkiem")], actor="bench"
        )
        await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
        owner = (await directory.accounts.get("timkiem")).id
        to = "timkiem@cantho.gov.vn"
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        backend, now = store.db.backend, dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            chunks = [range(n, min(n + BATCH, count + 1)) for n in range(1, count + 1, BATCH)]
            pending = [
                loop.run_in_executor(pool, _prepare, chunk, to, str(store.blobs.root)) for chunk in chunks[:2]
            ]
            for index in range(len(chunks)):
                prepared = await pending[index]
                if index + 2 < len(chunks):
                    pending.append(
                        loop.run_in_executor(pool, _prepare, chunks[index + 2], to, str(store.blobs.root))
                    )
                target = Target(owner, 10**13)
                jobs = [
                    DeliveryJob(
                        raw, Staged(digest, size, None), parsed, [target], now, None, loop.create_future()
                    )
                    for raw, parsed, digest, size in prepared
                ]
                await store.db.run_in_writer(lambda conn, jobs=jobs: apply_batch(conn, backend, jobs, now))
                done = chunks[index][-1]
                if index % 25 == 24 or done == count:
                    rate = done / (time.perf_counter() - started)
                    print(f"  {done} messages, {rate:.0f}/s", flush=True)
        if backend == "postgresql":
            async with store.db.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(sa.text("VACUUM ANALYZE"))
        else:
            async with store.db.write() as conn:
                await conn.execute(sa.text("ANALYZE"))
    finally:
        await store.close()


async def sizes(data: Path, url: str) -> dict[str, int]:
    """Bytes on disk: the database, the blob files, and what the bodies take compressed."""
    settings = load_settings(data)
    store = await Store.open(settings)
    try:
        compressed = (await store.db.all(sa.select(sa.func.sum(blob.c.stored_size))))[0][0]
        figures = {"compressed": int(compressed), "blobs": disk(store.blobs.root)}
        if url:
            figures["database"] = await pg_size(url)
            async with store.db.read() as conn:
                for name, sql in (
                    ("message", "pg_total_relation_size('message')"),
                    ("body_text", "pg_table_size('body_text')"),
                    ("text index", "pg_relation_size('ix_body_text_text_trgm')"),
                ):
                    figures[name] = (await conn.execute(sa.text(f"SELECT {sql}"))).scalar_one()
    finally:
        await store.close()
    if not url:
        database = data / "hopthu.db"
        figures["database"] = sum(p.stat().st_size for p in data.glob("hopthu.db*") if p.is_file())
        with sqlite3.connect(database) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        figures["database"] = sum(p.stat().st_size for p in data.glob("hopthu.db*") if p.is_file())
        try:
            with sqlite3.connect(database) as conn:
                rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
            per = dict(rows)
            figures["message"] = sum(
                v
                for k, v in per.items()
                if k == "message" or k.startswith("ix_message") or k.startswith("sqlite_autoindex_message")
            )
            figures["body_text"] = sum(
                v for k, v in per.items() if k == "body_text" or k.startswith("sqlite_autoindex_body_text")
            )
            figures["text index"] = sum(v for k, v in per.items() if k.startswith("body_text_index"))
        except sqlite3.DatabaseError:
            pass  # no dbstat in this SQLite build: the total stands alone
    return figures


async def webmail_sql(data: Path, count: int, queries: int) -> list[tuple[str, str, float, float, int]]:
    """The webmail search's own query (`store.websearch.newest_matching`: the newest 50 messages of
    the INBOX holding a word), timed in this process against the server's database: its SQL half,
    which the page then renders."""
    store = await Store.open(load_settings(data))
    try:
        box = (
            await store.db.all(
                sa.select(mailbox.c.id)
                .where(mailbox.c.name == "INBOX")
                .order_by(mailbox.c.message_count.desc())
                .limit(1)
            )
        )[0][0]
        rng = random.Random(11)
        figures = []
        for kind in ("rare", "common"):
            times, found = [], 0
            for attempt in range(queries + 2):
                word = f"hs-{rng.randint(1, count):07d}" if kind == "rare" else "thanh pho"
                started = time.perf_counter()
                wanted = SearchFilter([box], [word])
                by_text = await reads_text_first(store.db, wanted)
                rows = await newest_matching(store.db, wanted, None, 50, by_text=by_text)
                if attempt >= 2:  # the first two warm the caches
                    times.append(time.perf_counter() - started)
                    found += len(rows)
            figures.append(
                ("webmail", kind, percentile(times, 0.5), percentile(times, 0.99), found // len(times))
            )
        return figures
    finally:
        await store.close()


async def measure(port: int, count: int, queries: int) -> list[tuple[str, str, float, float, int]]:
    client = await Client.connect(port, tls=False, context=client_tls())
    await client.command(f'LOGIN timkiem "{PASSWORD}"')
    await client.command("SELECT INBOX")
    rng = random.Random(7)
    figures = []
    for criterion, kind, fixed in QUERIES:
        times, found = [], 0
        for attempt in range(queries + 2):
            number = rng.randint(1, count)
            if fixed is not None:
                needle = fixed
            elif kind == "address":
                needle = f"vt{(number * 7) % 9973:04d}@"
            elif criterion == "FROM":
                needle = f"cb{number % 5000:04d}@"
            elif criterion == "SUBJECT":
                needle = f"số {number}/"
            else:
                needle = f"HS-{number:07d}"
            literal = needle.encode()
            started = time.perf_counter()
            tag = client.send(f"UID SEARCH CHARSET UTF-8 {criterion} {{{len(literal)}+}}")
            client.writer.write(literal + b"\r\n")
            answer = await client.finish(tag)
            elapsed = time.perf_counter() - started
            if attempt >= 2:  # the first two warm the caches
                times.append(elapsed)
                found += sum(len(line.split()) - 2 for line in answer if line.startswith(b"* SEARCH"))
        figures.append(
            (criterion, kind, percentile(times, 0.5), percentile(times, 0.99), found // len(times))
        )
    await client.command("LOGOUT")
    await client.close()
    return figures


async def run(backend: str, args: argparse.Namespace) -> None:
    for count in (int(n) for n in args.messages.split(",")):
        kept = Path(args.keep) / f"{backend}-{count}" if args.keep else None
        folder = kept or Path(tempfile.mkdtemp(prefix="hopthu-search-"))
        data = folder / "data"
        server = None
        print(f"{backend}, {count} messages:", flush=True)
        env = {**os.environ, "HOPTHU_IMAP_ALLOW_PLAIN_LOGIN_ON_LOOPBACK": "true"}
        try:
            filled = folder / "filled"
            if filled.exists():  # a folder --keep filled before: measured again as it is
                url = filled.read_text().strip()
                print("  kept from an earlier run", flush=True)
            else:
                shutil.rmtree(folder, ignore_errors=True)
                url = await fresh_pg(f"hopthu_bench_search_{count}") if backend == "postgresql" else ""
                hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
                started = time.perf_counter()
                await fill(data, count)
                print(f"  filled in {time.perf_counter() - started:.0f} s", flush=True)
                filled.write_text(url)
            on_disk = await sizes(data, url)
            server = start(data, env)
            measured = await measure(server.port, count, args.queries)
            measured += await webmail_sql(data, count, args.queries)
            for criterion, kind, p50, p99, found in measured:
                figure = (
                    f"{count:>8} {criterion:8} {kind:8} p50 {p50 * 1000:7.1f} ms  "
                    f"p99 {p99 * 1000:7.1f} ms  ({found} found)"
                )
                print("  " + figure, flush=True)
                RESULTS.append((backend, figure))
            per = {k: v / count for k, v in on_disk.items()}
            parts = ", ".join(f"{k} {v:,.0f} B" for k, v in per.items() if k not in ("compressed",))
            total = per["database"] + per["blobs"]
            figure = (
                f"{count:>8} disk per message {total:,.0f} B = {total / per['compressed']:.2f}x "
                f"the compressed body ({per['compressed']:,.0f} B); {parts}"
            )
            print("  " + figure, flush=True)
            RESULTS.append((backend, figure))
        finally:
            if server is not None:
                server.stop()
            if kept is None:
                shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", default="50000")
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument(
        "--keep",
        default="",
        help="a folder to fill once and keep (one subfolder per backend and size); a later run with "
        "the same folder measures what it holds instead of filling again",
    )


def main() -> None:
    run_per_backend(__doc__ or "", arguments, run)
    print()
    for backend, figure in RESULTS:
        print(f"{backend:10} {figure}")
    print("Dovecot 2.3 + fts-xapian, same mail, 50,000 messages: TEXT/BODY/SUBJECT p50 7-12 ms.")


if __name__ == "__main__":
    main()
