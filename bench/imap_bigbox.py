"""Listing a large INBOX over IMAP, as a webmail without its own index would (Roundcube opens an
IMAP connection per page): connect, LOGIN, SELECT INBOX, UID SEARCH ALL, UID FETCH of the newest 50
(UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE), LOGOUT; C clients at once for D seconds, once on a
1,000-message INBOX and once on a 50,000-message one. Prints listings/s, p50/p99, and the ratio
between the two (Roundcube on Dovecot: 18.5 listings/s, p50 527 ms at 10 connections on 50,000
messages, 3.5 times slower than on 1,000).

The mailboxes are filled straight in the database (one stored body, rows copied with their parsed
columns), which takes seconds instead of the minutes 50,000 deliveries would: listing reads only
those columns and the (mailbox, uid) index.

    python bench/imap_bigbox.py [--small 1000] [--large 50000] [--clients 10] [--duration 15]
                                [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import fresh_pg, run_client_bench
from imap_load import PASSWORD, Client, Timings, client_tls, hopthu, letter, percentile, start

from hopthu.config import load_settings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.mail import canonical, parse
from hopthu.store import Store
from hopthu.store.mailstore import Target
from hopthu.store.schema import blob, mail_usage, mailbox, message

RESULTS: list[tuple[str, str]] = []


async def fill(data: Path, sizes: dict[str, int]) -> None:
    """One account per size, its INBOX holding that many messages."""
    settings = load_settings(data)
    store = await Store.open(settings)
    try:
        directory = Directory(DirectoryContext(store, settings))
        await directory.agencies.add("Sở Nội vụ", code="sonv", actor="bench")
        rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv", address=local) for local in sizes]
        results = await directory.people.register(rows, actor="bench")
        for result in results:
            await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
        for local, count in sizes.items():
            started = time.perf_counter()
            owner = (await directory.accounts.get(local)).id
            raw = canonical(letter(1, 4096, f"{local}@cantho.gov.vn", random.Random(1)))
            (first,) = await store.mail.deliver(raw, parse(raw), [Target(owner, 10**12)])
            async with store.db.write() as conn:
                template = (
                    (await conn.execute(sa.select(message).where(message.c.mailbox_id == first.mailbox_id)))
                    .mappings()
                    .one()
                )
                copy = {k: v for k, v in template.items() if k != "id"}
                start_at = template["internal_date"]
                batch = []
                for uid in range(2, count + 1):
                    moment = start_at + dt.timedelta(minutes=uid)
                    batch.append(
                        {
                            **copy,
                            "uid": uid,
                            "modseq": uid,
                            "flags": int(uid % 3 == 0),
                            "internal_date": moment,
                        }
                    )
                    if len(batch) == 5000:
                        await conn.execute(sa.insert(message), batch)
                        batch = []
                if batch:
                    await conn.execute(sa.insert(message), batch)
                await conn.execute(
                    sa.update(mailbox)
                    .where(mailbox.c.id == first.mailbox_id)
                    .values(uidnext=count + 1, highestmodseq=count, message_count=count)
                )
                await conn.execute(
                    sa.update(mail_usage)
                    .where(mail_usage.c.account_id == owner)
                    .values(bytes=copy["size"] * count, messages=count)
                )
                await conn.execute(
                    sa.update(blob).where(blob.c.hash == copy["blob_hash"]).values(refcount=count)
                )
            print(f"  {local}: {count} messages in {time.perf_counter() - started:.1f} s", flush=True)
        if store.db.backend == "postgresql":
            # A mailbox filled over weeks has been analysed and vacuumed by autovacuum; one filled a
            # second ago has not, and the planner would scan the heap: measure the steady state.
            async with store.db.engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.execute(sa.text("VACUUM ANALYZE message"))
    finally:
        await store.close()


async def listing(port: int, local: str, count: int, clients: int, duration: float) -> Timings:
    timings = Timings()
    deadline = time.perf_counter() + duration
    context = client_tls()

    async def one() -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            timed = timings.timed
            client = await timed("connect", Client.connect(port, tls=False, context=context))
            await timed("LOGIN", client.login(local))
            await timed("SELECT INBOX", client.command("SELECT INBOX"))
            await timed("UID SEARCH ALL", client.command("UID SEARCH ALL"))
            low = max(1, count - 49)
            fetch = f"UID FETCH {low}:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE)"
            await timed("UID FETCH newest 50", client.command(fetch))
            await timed("LOGOUT", client.command("LOGOUT"))
            await client.close()
            timings.by_name.setdefault("listing", []).append(time.perf_counter() - started)

    await asyncio.gather(*(one() for _ in range(clients)))
    return timings


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-bigbox-"))
    data = folder / "data"
    server = None
    print(f"{backend}:", flush=True)
    try:
        url = await fresh_pg("hopthu_bench_bigbox") if backend == "postgresql" else ""
        env = {**os.environ, "HOPTHU_IMAP_ALLOW_PLAIN_LOGIN_ON_LOOPBACK": "true"}
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        sizes = {"hopnho": args.small, "hoplon": args.large}
        await fill(data, sizes)
        server = start(data, env)
        rates = {}
        for local, count in sizes.items():
            await listing(server.port, local, count, 1, 1.0)  # sign in once: the argon2id check is cached
            timings = await listing(server.port, local, count, args.clients, args.duration)
            values = timings.by_name["listing"]
            rates[count] = len(values) / args.duration
            figure = (
                f"{count:>6} messages, {args.clients} clients: {rates[count]:6.1f} listings/s, "
                f"p50 {percentile(values, 0.5) * 1000:6.0f} ms, p99 {percentile(values, 0.99) * 1000:6.0f} ms"
            )
            print("  " + figure, flush=True)
            timings.print(args.duration)
            RESULTS.append((backend, figure))
        ratio = rates[args.small] / rates[args.large]
        RESULTS.append((backend, f"{args.large} messages are {ratio:.1f}× slower to list than {args.small}"))
        print(f"  {RESULTS[-1][1]}", flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=15.0)


def main() -> None:
    run_client_bench(__doc__ or "", arguments, run)
    print()
    for backend, figure in RESULTS:
        print(f"{backend:10} {figure}")
    print("Roundcube on Dovecot, for comparison: 18.5 listings/s, p50 527 ms at 10 connections on 50,000")
    print("messages; 3.5× slower than on 1,000.")


if __name__ == "__main__":
    main()
