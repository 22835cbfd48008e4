"""IMAP APPEND from several clients at once, against a real `hopthu serve` process: C clients, each
signed in to its own account (or all to one, `--one-mailbox`), each appending M messages of S bytes
with a synchronising literal, as a mail client copying a folder up does. Every tagged OK means the
message is durable (body fsynced, row committed): concurrent APPENDs share the delivery's group
commit, so they run at the delivery rate. Prints messages/s and p50/p99 of each APPEND, then checks
with STATUS that every message is there under its own UID.

    python bench/append.py [--clients 4] [--messages 300] [--size 4096] [--one-mailbox]
                           [--backend sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

from common import fresh_pg, run_per_backend
from imap_load import Client, ImapError, client_tls, hopthu, letter, percentile, prepare, start

APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")


async def append(client: Client, mailbox: str, data: bytes) -> int:
    """One APPEND with a synchronising literal; the UID the server gave it (RFC 4315 APPENDUID)."""
    tag = client.send(f"APPEND {mailbox} (\\Seen) {{{len(data)}}}")
    while True:
        item = await client.item()
        if item.startswith(b"+"):
            break
        if item.startswith(tag + b" "):
            raise ImapError(item)
    client.writer.write(data + b"\r\n")
    while True:
        item = await client.item()
        if item.startswith(tag + b" "):
            found = APPENDUID.search(item)
            if not item.startswith(tag + b" OK") or found is None:
                raise ImapError(item)
            return int(found.group(1))


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-append-bench-"))
    data = folder / "data"
    server = None
    try:
        url = await fresh_pg("hopthu_bench_append") if backend == "postgresql" else ""
        env = {**os.environ, "HOPTHU_IMAP_ALLOW_PLAIN_LOGIN_ON_LOOPBACK": "true"}
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        setup = argparse.Namespace(
            accounts=1 if args.one_mailbox else args.clients, messages=0, size=args.size, cold_accounts=0
        )
        accounts, _ = await prepare(data, setup)
        server = start(data, env)
        context = client_tls()
        clients = []
        for number in range(args.clients):
            client = await Client.connect(server.port, tls=False, context=context)
            await client.login(accounts[number % len(accounts)])
            clients.append(client)
        rng = random.Random(1)
        bodies = [
            [letter(n, args.size, "vanthu@cantho.gov.vn", rng) for n in range(args.messages)]
            for _ in range(args.clients)
        ]
        latencies: list[float] = []
        uids: dict[str, set[int]] = {a: set() for a in accounts}

        async def appender(number: int) -> None:
            owner = accounts[number % len(accounts)]
            for body in bodies[number]:
                started = time.perf_counter()
                uids[owner].add(await append(clients[number], "INBOX", body))
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*[appender(n) for n in range(args.clients)])
        elapsed = time.perf_counter() - started
        total = args.clients * args.messages
        p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
        print(
            f"{backend:10} {args.clients} clients × {args.messages} APPENDs of {args.size} B into "
            f"{len(accounts)} mailbox(es): {total / elapsed:7.1f} messages/s, "
            f"p50 {p50:6.1f} ms, p99 {p99:6.1f} ms",
            flush=True,
        )
        for number, owner in enumerate(accounts):
            status = await clients[number].command("STATUS INBOX (MESSAGES)")
            counted = int(re.search(rb"MESSAGES (\d+)", b"".join(status)).group(1))  # type: ignore[union-attr]
            expected = args.messages * sum(1 for n in range(args.clients) if n % len(accounts) == number)
            if counted != expected or len(uids[owner]) != expected:
                raise SystemExit(f"{owner}: {counted} messages, {len(uids[owner])} UIDs, {expected} appended")
        for client in clients:
            await client.command("LOGOUT")
            await client.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--one-mailbox", action="store_true")


def main() -> None:
    run_per_backend(__doc__ or "", arguments, run)


if __name__ == "__main__":
    main()
