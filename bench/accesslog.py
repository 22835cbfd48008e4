"""The access log's cost (R13.4): microseconds a sign-in spends recording its event, through the
bounded buffer the shared writer takes (what the server does) against a transaction of its own per
event (what it avoids); the "new place?" lookup of a successful sign-in; and the bytes per row on
disk (table and indexes) from a sample, with what a year of `--people` signing in `--per-day` times a
day comes to, on both backends.

Events are made like real ones: most by people's usual programs from their usual addresses (IMAP
clients with ID, browsers' User-Agents, EHLO names), a few refused.

    python bench/accesslog.py [--rows 100000] [--events 20000] [--single 2000]
                              [--people 10000] [--per-day 20] [--backend sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import fresh_pg, run_per_backend

from hopthu.config import Settings, StoreSettings
from hopthu.directory.accesslog import AccessLog, _row
from hopthu.store import Store
from hopthu.store.schema import access_event

CLIENTS = {
    "imap": ["Thunderbird 128.5.2", "Apple Mail 16.0", "K-9 Mail 6.802", "Microsoft Outlook 16.0", ""],
    "pop3": [""],
    "submission": ["[192.168.1.23]", "DESKTOP-7K2L9QF", "iPhone", "pc-vanthu-sonv"],
    "web": [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
        "Safari/537.36 Edg/130.0.0.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
        "Mobile Safari/537.36 coc_coc_browser/131.0.232",
    ],
}
PROTOCOLS = ["imap"] * 6 + ["web"] * 2 + ["submission"] + ["pop3"]
REFUSALS = ["bad_credentials"] * 8 + ["throttled", "must_change_password"]


def events(count: int, people: int, seed: int = 7) -> list[dict]:
    """`count` rows as `AccessLog.record` makes them, over `people` accounts."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    made = []
    for n in range(count):
        person = rng.randrange(1, people + 1)
        protocol = rng.choice(PROTOCOLS)
        office = f"10.{person % 200}.{person % 97}.{person % 250 + 2}"
        source = (
            office
            if rng.random() < 0.85
            else f"113.{rng.randrange(160, 190)}.{rng.randrange(256)}.{rng.randrange(256)}"
        )
        refused = rng.random() < 0.03
        made.append(
            _row(
                start + dt.timedelta(seconds=n * 0.43),
                person,
                f"user{person}@cantho.gov.vn" if rng.random() < 0.5 else f"user{person}",
                protocol,
                source,
                rng.choice(CLIENTS[protocol]),
                rng.choice(REFUSALS) if refused else "success",
            )
        )
    return made


async def _sizes(store: Store, backend: str) -> int:
    """Bytes of the table and its indexes."""
    async with store.db.read() as conn:
        if backend == "postgresql":
            await conn.execute(sa.text("ANALYZE access_event"))
            return (await conn.execute(sa.text("SELECT pg_total_relation_size('access_event')"))).scalar_one()
        names = ["access_event", *(index.name for index in access_event.indexes)]
        query = sa.text(
            "SELECT SUM(pgsize) FROM dbstat WHERE name IN (" + ",".join(f"'{n}'" for n in names) + ")"
        )
        return (await conn.execute(query)).scalar_one() or 0


async def _batched(store: Store, made: list[dict], callers: int) -> tuple[float, float]:
    """µs per event through `AccessLog.record`, `callers` sign-ins at a time (the loop's turns
    included), then µs per event of the writer's batches: what the sign-in waits for, what the
    writer spends."""
    log = AccessLog(store.db, lambda: made[0]["at"])

    async def caller(share: list[dict]) -> None:
        for row in share:
            log.record(
                account_id=row["account_id"],
                login=row["login"],
                protocol=row["protocol"],
                source=row["source"],
                client=row["client"],
                result=row["result"],
            )
            await asyncio.sleep(0)  # a sign-in's other awaits: the flusher gets its turns

    started = time.perf_counter()
    await asyncio.gather(*(caller(made[n::callers]) for n in range(callers)))
    recorded = time.perf_counter()
    await log.close()
    ended = time.perf_counter()
    return (recorded - started) / len(made) * 1e6, (ended - recorded) / len(made) * 1e6


async def _single(store: Store, made: list[dict], callers: int) -> float:
    """µs per event with a write transaction (and its commit) of its own per event."""

    async def caller(share: list[dict]) -> None:
        for row in share:
            async with store.db.write() as conn:
                await conn.execute(sa.insert(access_event), row)

    started = time.perf_counter()
    await asyncio.gather(*(caller(made[n::callers]) for n in range(callers)))
    return (time.perf_counter() - started) / len(made) * 1e6


async def _lookup(store: Store, made: list[dict]) -> float:
    """µs per "new place?" answer with an empty memory (the indexed lookup every time)."""
    log = AccessLog(store.db, lambda: made[0]["at"])
    sample = made[:2000]
    started = time.perf_counter()
    for row in sample:
        log._known.clear()
        await log.is_new_place(row["account_id"], row["source"], row["client"])
    return (time.perf_counter() - started) / len(sample) * 1e6


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-bench-"))
    try:
        url = await fresh_pg("hopthu_bench_accesslog") if backend == "postgresql" else ""
        store = await Store.open(Settings(data_dir=folder, store=StoreSettings(database_url=url)))
        made = events(args.rows + args.events + args.single, args.people)
        sample, timed, single = (
            made[: args.rows],
            made[args.rows : args.rows + args.events],
            made[args.rows + args.events :],
        )
        empty = await _sizes(store, backend)
        for first in range(0, len(sample), 5000):
            rows = sample[first : first + 5000]
            await store.db.run_in_writer(lambda conn, rows=rows: conn.execute(sa.insert(access_event), rows))
        per_row = (await _sizes(store, backend) - empty) / len(sample)
        year = args.people * args.per_day * 365
        on_sign_in, on_writer = await _batched(store, timed, args.callers)
        one_each = await _single(store, single, args.callers)
        lookup = await _lookup(store, sample)
        print(
            f"{backend:10} recording, batched: {on_sign_in:6.1f} µs on the sign-in + {on_writer:6.1f} µs on "
            f"the writer; a transaction each: {one_each:7.1f} µs ({args.callers} sign-ins at a time); "
            f"new-place lookup {lookup:6.1f} µs"
        )
        print(
            f"{backend:10} {len(sample):,} rows: {per_row:5.0f} bytes per row (table + indexes); a year of "
            f"{args.people:,} people × {args.per_day} sign-ins a day = {year / 1e6:.1f} M rows = "
            f"{per_row * year / 2**30:5.1f} GiB"
        )
        await store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--per-day", type=int, default=20)


def main() -> None:
    run_per_backend(__doc__ or "", arguments, run)


if __name__ == "__main__":
    main()
