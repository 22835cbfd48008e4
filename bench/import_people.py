"""Importing a city's staff through the request queue (R10.3, R4.3b): N people drawn from
../shared/data/vn-names.csv across the agencies of ../shared/data/cantho-agencies.csv, previewed
(every row named), filed as one batch, then approved as one batch taking the first proposal where
R4.3b asks the operator to choose. Prints the time of each step, the CPU the approval cost this
process (all its threads; on a busy machine the steadier figure; PostgreSQL's own work is not in
it), and how many rows waited for naming.

    python bench/import_people.py [--people 20000] [--backend sqlite,postgresql]

Skips (exit 0) when ../shared/data is absent: the names are not the project's to copy.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import fresh_pg, run_per_backend

from hopthu.config import Settings, StoreSettings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.filing import plan_people
from hopthu.directory.fulfilment import Fulfilment, person_payload
from hopthu.directory.people import PersonRow
from hopthu.directory.roles import Powers
from hopthu.directory.service import Directory
from hopthu.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OPERATOR = Powers(operator=True)


def people(count: int, agencies: list[str], seed: int = 2026) -> list[PersonRow]:
    with (DATA / "vn-names.csv").open(encoding="utf-8") as handle:
        names = list(csv.DictReader(handle))
    chosen = random.Random(seed)
    day = dt.date(2026, 12, 1)
    return [
        PersonRow(
            n["family"],
            n["middle"],
            n["given"],
            chosen.choice(agencies),
            chosen.randint(0, 5),
            day,
            line=i + 2,
        )
        for i, n in enumerate(chosen.sample(names, count))
    ]


async def add_agencies(directory: Directory) -> list[str]:
    with (DATA / "cantho-agencies.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # the file lists parents before their sub-units
        await directory.agencies.add(
            row["name"], code=row["code"], parent=row["parent_code"] or None, kind=row["kind"], actor="bench"
        )
    return [row["code"] for row in rows]


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-import-bench-"))
    url = await fresh_pg("hopthu_bench_import") if backend == "postgresql" else ""
    settings = Settings(data_dir=folder, store=StoreSettings(database_url=url))
    store = await Store.open(settings)
    try:
        directory = Directory(DirectoryContext(store, settings))
        codes = await add_agencies(directory)
        rows = people(args.people, codes)
        started = time.perf_counter()
        planned = await plan_people(directory, OPERATOR, rows)
        preview = time.perf_counter() - started
        waiting = sum(1 for r in planned if r.needs_administrator)
        failing = sum(1 for r in planned if r.error)
        started = time.perf_counter()
        batch = secrets.token_hex(6)
        await directory.requests.file_batch(
            [
                ("create", r.row.agency, person_payload(r.row, proposed=r.address, proposals=r.proposals))
                for r in planned
                if r.error is None
            ],
            channel="portal",
            filed_by="bench",
            batch=batch,
        )
        submit = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        outcome = await Fulfilment(directory).approve_batch(batch, actor="bench", within=None)
        approve, approve_cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"{backend:10} {len(rows):,} people in {len(codes)} agencies: preview {preview:.1f} s, "
            f"submit {submit:.1f} s, approve {approve:.1f} s ({approve_cpu:.1f} s of this process's CPU, "
            f"{outcome.approved:,} created); "
            f"{waiting:,} rows ({waiting / len(rows):.1%}) waited for naming, {failing} refused",
            flush=True,
        )
    finally:
        await store.close()
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--people", type=int, default=20_000)


if __name__ == "__main__":
    if not (DATA / "vn-names.csv").exists():
        print(f"skipped: {DATA} is absent")
        sys.exit(0)
    run_per_backend(__doc__ or "", arguments, run)
