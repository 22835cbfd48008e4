"""What protection costs: SMTP throughput with scanning off and on, and the mail log's bytes per message.

The same load as `smtp_throughput.py` (S concurrent MX sessions, M messages of SIZE bytes to R local
mailboxes, each 250 durable) against a real `hopthu serve`, twice per backend: with no engine (the
built-in checks and the mail log only), then with the real rspamd and clamd (every message scored
and scanned). Both engines run here with the test configuration (tests/protection/conftest.py:
Debian's rspamd with deploy/rspamd and the network modules off, since nothing here reaches the
internet; clamd with a small signature database), so rspamd's DNS-based checks, which production
runs, are not in these figures. Goal (issue 13): scanning costs at most 30 % of the throughput.

    python bench/protection.py [--sessions 20] [--messages 2000] [--size 4096] [--recipients 1000]
                               [--rounds 3] [--backend sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import fresh_pg, run_per_backend, serve
from smtp_throughput import hopthu, load, percentile
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.protection.conftest import ClamdProcess, RspamdProcess, rspamd_confdir

ENGINES: dict[str, str] = {}
ENGINE_GROUPS: dict[str, int] = {}  # engine name -> its process group (rspamd's workers are children)
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(group: int) -> float:
    """User and system CPU time of every process in a process group (from /proc); a negative number
    is one process's id."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group or int(stat.parent.name) == -group:  # pgrp, or the one pid
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def cpu_now(groups: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(group) for name, group in groups.items()}


def start_engines(root: Path) -> tuple[RspamdProcess, ClamdProcess]:
    confdir = rspamd_confdir(root / "rspamd-conf", redis_db=15)
    rspamd = RspamdProcess(confdir, root / "rspamd", root / "hs")
    clamd = ClamdProcess(root / "clamd")
    clamd.start()
    rspamd.start()
    return rspamd, clamd


async def log_bytes(data: Path, url: str) -> tuple[int, int]:
    """(entries, bytes of the mail_log table and its indexes)."""
    if url:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            count = (await conn.execute(sa.text("SELECT count(*) FROM mail_log"))).scalar_one()
            size = (await conn.execute(sa.text("SELECT pg_total_relation_size('mail_log')"))).scalar_one()
        await engine.dispose()
        return count, size
    with sqlite3.connect(data / "hopthu.db") as conn:
        count = conn.execute("SELECT count(*) FROM mail_log").fetchone()[0]
        size = conn.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name = 'mail_log' OR name LIKE 'ix_mail_log%'"
        ).fetchone()[0]
    return count, size or 0


async def one_run(backend: str, args: argparse.Namespace, scanning: bool) -> float:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-protection-bench-"))
    data = folder / "data"
    process = None
    try:
        url = await fresh_pg("hopthu_bench_protection") if backend == "postgresql" else ""
        dns = folder / "dns.toml"
        dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
        env = {**os.environ, "HOPTHU_SMTP_DNS_FILE": str(dns), "HOPTHU_PROTECTION_DNSBL_ZONES": ""}
        if scanning:
            env.update(ENGINES)
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        hopthu(data, "agency", "add", "--name", "Sở Nội vụ", "--code", "sonv", env=env)
        people = folder / "people.csv"
        with people.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["family", "middle", "given", "agency", "address"])
            writer.writerows(
                ["Nguyễn", "Văn", "Minh", "sonv", f"canbo{n:05d}"] for n in range(args.recipients)
            )
        hopthu(data, "account", "import", str(people), env=env)
        addresses = [f"canbo{n:05d}@cantho.gov.vn" for n in range(args.recipients)]
        process, port = serve(data, env, "smtp")
        groups = {"hopthu": -process.pid, **(ENGINE_GROUPS if scanning else {})}
        before = cpu_now(groups)
        started = time.perf_counter()
        latencies = await load(port, args, addresses)
        elapsed = time.perf_counter() - started
        after = cpu_now(groups)
        rate = args.messages / elapsed
        process.send_signal(signal.SIGTERM)  # the refused entries' buffer is written at the stop
        process.wait(timeout=60)
        process = None
        entries, size = await log_bytes(data, url)
        label = "scanning on " if scanning else "scanning off"
        print(
            f"{backend:10} {label}: {rate:7.1f} messages/s, p50 {percentile(latencies, 0.5) * 1000:6.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms; mail log {entries} entries, "
            f"{size / max(entries, 1):5.0f} bytes per entry with indexes",
            flush=True,
        )
        spent = ", ".join(
            f"{name} {(after[name] - before[name]) / args.messages * 1000:.2f} ms" for name in groups
        )
        print(f"{backend:10} {label}: CPU per message: {spent}", flush=True)
        return rate
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


async def run(backend: str, args: argparse.Namespace) -> None:
    """Off and on alternately, `--rounds` times: a shared machine's speed drifts between runs, so
    each round compares two runs made back to back and the median round is the figure."""
    costs = []
    for _ in range(args.rounds):
        off = await one_run(backend, args, scanning=False)
        on = await one_run(backend, args, scanning=True)
        costs.append((1 - on / off) * 100)
        print(f"{backend:10} this round, scanning costs {costs[-1]:5.1f} % of the throughput", flush=True)
    print(
        f"{backend:10} scanning costs {statistics.median(costs):5.1f} % of the throughput, median of "
        f"{len(costs)} rounds (goal: at most 30 %)"
    )


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="hopthu-engines-"))
    rspamd, clamd = start_engines(root)
    assert rspamd.process is not None and clamd.process is not None
    ENGINE_GROUPS.update(rspamd=os.getpgid(rspamd.process.pid), clamd=os.getpgid(clamd.process.pid))
    ENGINES.update(
        {
            "HOPTHU_PROTECTION_RSPAMD_URL": rspamd.url,
            "HOPTHU_PROTECTION_CLAMD": clamd.socket,  # a Unix socket, as Debian configures it
            "HOPTHU_PROTECTION_SCAN_TIMEOUT_SECONDS": "30",
        }
    )
    try:
        run_per_backend(__doc__ or "", arguments, run)
    finally:
        rspamd.stop()
        clamd.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
