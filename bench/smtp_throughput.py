"""SMTP end to end: N concurrent sessions send M messages of S bytes to local users over the real MX
listener of a real `hopthu serve` process; every 250 means durable (blob fsync + database commit).

Prints messages/s, p50/p99 latency of each transaction's final 250, bytes on disk per message, the CPU
each message cost the server, the client, PostgreSQL and the kernel (`cpu.CpuMeter`); then
one circular (1 MiB, 500 local recipients, one transaction): time and disk used (about one copy).
DNS is answered from a static file, so nothing here asks outside DNS.

    python bench/smtp_throughput.py [--sessions 20] [--messages 2000] [--size 4096] [--recipients 1000]
                                    [--backend sqlite,postgresql] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiosmtplib
from common import circular, disk, fresh_pg, pg_size, run_per_backend, serve
from cpu import CpuMeter


def hopthu(data: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "hopthu", "--data", str(data), *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def message(number: int, size: int, to: str) -> bytes:
    head = (
        f"From: Ban <ban@example.org>\r\nTo: {to}\r\nSubject: Cong van so {number}\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <{number}.{time.time_ns()}@example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    line = f"Kinh gui cac don vi, van ban so {number} ve viec trien khai nhiem vu nam 2026.\r\n".encode()
    return head + line * max(1, (size - len(head)) // len(line))


async def load(port: int, args: argparse.Namespace, addresses: list[str]) -> list[float]:
    latencies: list[float] = []
    counter = iter(range(args.messages))

    async def session() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await client.connect()
        for number in counter:
            to = addresses[number % args.recipients]
            data = message(number, args.size, to)
            started = time.perf_counter()
            await client.sendmail("ban@example.org", [to], data)
            latencies.append(time.perf_counter() - started)
        await client.quit()

    await asyncio.gather(*[session() for _ in range(args.sessions)])
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-smtp-bench-"))
    data = folder / "data"
    process = None
    try:
        url = await fresh_pg("hopthu_bench_smtp") if backend == "postgresql" else ""
        dns = folder / "dns.toml"
        dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
        env = {**os.environ, "HOPTHU_SMTP_DNS_FILE": str(dns)}
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        hopthu(data, "agency", "add", "--name", "Sở Nội vụ", "--code", "sonv", env=env)
        people = folder / "people.csv"
        count = max(args.recipients, args.circular_recipients)
        with people.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["family", "middle", "given", "agency", "address"])
            writer.writerows(["Nguyễn", "Văn", "Minh", "sonv", f"canbo{n:05d}"] for n in range(count))
        hopthu(data, "account", "import", str(people), env=env)
        addresses = [f"canbo{n:05d}@cantho.gov.vn" for n in range(count)]
        process, port = serve(data, env, "smtp", ("--workers", str(args.workers)) if args.workers > 1 else ())

        before = disk(data) + await pg_size(url)
        meter = CpuMeter(process.pid)
        meter.start()
        started = time.perf_counter()
        latencies = await load(port, args, addresses[: args.recipients])
        elapsed = time.perf_counter() - started
        usage = meter.stop()
        after = disk(data) + await pg_size(url)
        print(
            f"{backend:10} {args.messages} × {args.size} B over {args.sessions} SMTP sessions "
            f"({args.workers} worker{'s' if args.workers > 1 else ''}) to "
            f"{args.recipients} mailboxes: {args.messages / elapsed:7.1f} messages/s, "
            f"p50 {percentile(latencies, 0.5) * 1000:6.1f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:6.1f} ms, "
            f"{(after - before) / args.messages:7.0f} bytes on disk per message"
        )
        print(f"{backend:10} {usage.per_unit(args.messages, 'message')}")

        big = circular(args.circular_size)
        blobs_before = disk(data / "blobs")
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=300)
        await client.connect()
        started = time.perf_counter()
        await client.sendmail("ban@example.org", addresses[: args.circular_recipients], big)
        elapsed = time.perf_counter() - started
        await client.quit()
        used = disk(data / "blobs") - blobs_before
        print(
            f"{backend:10} one {len(big) / 2**20:.2f} MiB circular to {args.circular_recipients} mailboxes: "
            f"{elapsed:5.2f} s, blobs grew {used / 2**20:.2f} MiB ({used / len(big):.2f} copies)"
        )
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="hopthu serve --workers (PostgreSQL only)")


def main() -> None:
    run_per_backend(__doc__ or "", arguments, run)


if __name__ == "__main__":
    main()
