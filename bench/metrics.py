"""What a Prometheus scraper costs the mail: SMTP delivery throughput of one `hopthu serve` with and
without a client fetching `/metrics` every second, in alternating rounds on the same server.

Each round sends M messages of S bytes over N concurrent MX sessions (as `smtp_throughput.py`: every
250 is durable); "with" rounds run a scraper beside the load that fetches `/metrics` every
`--interval` seconds and times each scrape. Rounds alternate (without, with, without, with, ...) so
that the disk and the database growing during the run weigh on both figures alike.

    python bench/metrics.py [--rounds 3] [--sessions 20] [--messages 2000] [--size 4096]
                            [--interval 1.0] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PORTS, fresh_pg, run_client_bench
from smtp_throughput import hopthu, load, percentile


def serve(data: Path, env: dict[str, str]) -> tuple[subprocess.Popen, int, int]:
    """`hopthu serve` with /metrics on a free loopback port; the process, the MX and metrics ports."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hopthu", "--data", str(data), "serve", *PORTS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**env, "HOPTHU_METRICS_LISTEN": "127.0.0.1:0"},
    )
    assert process.stdout is not None
    ports: dict[str, int] = {}
    while "smtp" not in ports or "metrics" not in ports:
        line = process.stdout.readline()
        found = re.match(r"(\w+): \w+://[\d.]+:(\d+)", line)
        if found:
            ports[found.group(1)] = int(found.group(2))
        if not line and process.poll() is not None:
            raise SystemExit("hopthu serve did not start")
    return process, ports["smtp"], ports["metrics"]


async def scrape(port: int) -> int:
    """One GET /metrics over a new connection, as Prometheus makes it; the body's size."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/plain\r\n\r\n")
    answer = await reader.read(-1)
    writer.close()
    if not answer.startswith(b"HTTP/1.1 200 "):
        raise SystemExit(f"/metrics answered {answer[:60]!r}")
    return len(answer.partition(b"\r\n\r\n")[2])


async def scraper(port: int, interval: float, stop: asyncio.Event, times: list[float]) -> int:
    """Scrape every `interval` seconds until `stop`; each scrape's wall time in `times`; the last size."""
    size = 0
    while not stop.is_set():
        started = time.perf_counter()
        size = await scrape(port)
        times.append(time.perf_counter() - started)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(interval - (time.perf_counter() - started), 0))
    return size


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-metrics-bench-"))
    data = folder / "data"
    process = None
    try:
        url = await fresh_pg("hopthu_bench_metrics") if backend == "postgresql" else ""
        dns = folder / "dns.toml"
        dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
        env = {**os.environ, "HOPTHU_SMTP_DNS_FILE": str(dns)}
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        hopthu(data, "agency", "add", "--name", "Sở Nội vụ", "--code", "sonv", env=env)
        people = folder / "people.csv"
        with people.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["family", "middle", "given", "agency", "address"])
            rows = (["Nguyễn", "Văn", "Minh", "sonv", f"canbo{n:05d}"] for n in range(args.recipients))
            writer.writerows(rows)
        hopthu(data, "account", "import", str(people), env=env)
        addresses = [f"canbo{n:05d}@cantho.gov.vn" for n in range(args.recipients)]
        process, smtp_port, metrics_port = serve(data, env)
        await load(smtp_port, argparse.Namespace(**{**vars(args), "messages": 200}), addresses)  # warm up

        rates: dict[bool, list[float]] = {False: [], True: []}
        p99s: dict[bool, list[float]] = {False: [], True: []}
        scrape_times: list[float] = []
        size = 0
        for round_number in range(args.rounds * 2):
            scraped = round_number % 2 == 1
            stop = asyncio.Event()
            watching = None
            if scraped:
                watching = asyncio.create_task(scraper(metrics_port, args.interval, stop, scrape_times))
            started = time.perf_counter()
            latencies = await load(smtp_port, args, addresses)
            elapsed = time.perf_counter() - started
            stop.set()
            if watching is not None:
                size = await watching
            rates[scraped].append(args.messages / elapsed)
            p99s[scraped].append(percentile(latencies, 0.99))
            print(
                f"{backend:10} round {round_number + 1}: {'with   ' if scraped else 'without'} scraper "
                f"{args.messages / elapsed:7.1f} messages/s, p99 {percentile(latencies, 0.99) * 1000:6.1f} ms"
            )
        without, with_scraper = statistics.median(rates[False]), statistics.median(rates[True])
        print(
            f"{backend:10} {args.messages} × {args.size} B over {args.sessions} sessions, median of "
            f"{args.rounds} rounds: without a scraper {without:7.1f} messages/s, with one every "
            f"{args.interval:g} s {with_scraper:7.1f} messages/s, difference "
            f"{with_scraper - without:+.1f} messages/s ({(with_scraper / without - 1) * 100:+.1f} %); "
            f"p99 {statistics.median(p99s[False]) * 1000:.1f} / {statistics.median(p99s[True]) * 1000:.1f} ms"
        )
        print(
            f"{backend:10} {len(scrape_times)} scrapes under load: p50 "
            f"{percentile(scrape_times, 0.5) * 1000:.1f} ms, max {max(scrape_times) * 1000:.1f} ms, "
            f"{size} bytes of text"
        )
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each kind, alternating")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--recipients", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two scrapes")


def main() -> None:
    run_client_bench(__doc__ or "", arguments, run)


if __name__ == "__main__":
    main()
