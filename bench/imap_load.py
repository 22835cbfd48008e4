"""IMAP under load, against a real `hopthu serve` process (so its memory is measured alone).

Setup (in this process, before the server starts): N accounts, each INBOX filled with M messages of
about S bytes through store.mail.deliver, concurrently; plus "cold" accounts with a few messages each.
Every account gets the same argon2id password hash (one hash computed, copied), so each account's
first sign-in pays a full argon2id check: the server caches a successful check per account for 5
minutes, so later sign-ins of the same account are cheap.

1. Mix: C sessions (half STARTTLS, half plain LOGIN on loopback, which the bench's settings allow), one
   account each, sign in (argon2id), then for D seconds repeat SELECT INBOX, UID FETCH 1:* (FLAGS),
   FETCH of ENVELOPE+BODYSTRUCTURE for a 50-message window, UID FETCH BODY.PEEK[] of one message,
   UID SEARCH UNSEEN, SEARCH TEXT "<word>", STORE +FLAGS (\\Seen), NOOP, IDLE+DONE. Prints operations/s
   and p50/p95/p99 latency per command.
2. imaptest-style: C connections each repeating connect, LOGIN, SELECT INBOX, FETCH 1:50 (UID FLAGS
   RFC822.SIZE), LOGOUT; commands/s counts those 4 (STARTTLS is not counted). "cold": every LOGIN is
   a different account not signed in before (a full argon2id check, like Dovecot's 72 commands/s
   figure); "warm": the server's cache of recent successful checks answers (closer to Dovecot's 736
   with plain-text passwords); warm over plain and over STARTTLS.
3. Memory per idle connection: K connections signed in, INBOX selected, in IDLE; the server's VmRSS
   (/proc/<pid>/status) before and after. Plain and STARTTLS connections go to two fresh servers
   started side by side (each measured alone; their opening rates share the CPU).

    python bench/imap_load.py [--accounts 50] [--messages 200] [--size 4096] [--sessions 20]
                              [--duration 20] [--cycle-seconds 5] [--cold-accounts 60]
                              [--idle-connections 5000] [--idle-accounts 10] [--idle-only]
                              [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import re
import resource
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from common import fresh_pg, people_with_one_password, run_client_bench, serve

from hopthu.config import load_settings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.service import Directory
from hopthu.mail import canonical, parse
from hopthu.store import Store
from hopthu.store.mailstore import Target

PASSWORD = "Hop-Thu-2026"
WORDS = [
    "ngan sach",
    "chuyen doi so",
    "bao cao quy",
    "hop giao ban",
    "tiep cong dan",
    "quy hoach",
    "dau tu cong",
    "cai cach hanh chinh",
    "phong chong thien tai",
    "bien ban",
]
COLD_MESSAGES = 50
RESULTS: list[tuple[str, str, str]] = []  # (backend, figure, value) for the closing table


# --- data -----------------------------------------------------------------------------------------


def hopthu(data: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "hopthu", "--data", str(data), *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def letter(number: int, size: int, to: str, rng: random.Random) -> bytes:
    topics = rng.sample(WORDS, 2)
    head = (
        f"From: Van phong <vanphong@cantho.gov.vn>\r\nTo: {to}\r\n"
        f"Subject: Cong van so {number} ve {topics[0]}\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <{number}.{time.time_ns()}@bench>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    line = f"Kinh gui cac don vi, van ban so {number} ve viec {topics[1]} nam 2026.\r\n".encode()
    return head + line * max(1, (size - len(head)) // len(line))


async def prepare(data: Path, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Accounts with INBOXes filled; returns (loaded accounts, cold accounts)."""
    loaded = [f"canbo{n:05d}" for n in range(args.accounts)]
    cold = [f"lanh{n:05d}" for n in range(args.cold_accounts)]
    await people_with_one_password(data, [*loaded, *cold], PASSWORD)
    settings = load_settings(data)
    store = await Store.open(settings)
    try:
        directory = Directory(DirectoryContext(store, settings))
        ids = {a: (await directory.accounts.get(a)).id for a in [*loaded, *cold]}

        rng = random.Random(1)
        gate = asyncio.Semaphore(256)

        async def deliver(raw: bytes, targets: list[Target]) -> None:
            async with gate:
                data = canonical(raw)
                await store.mail.deliver(data, parse(data), targets)

        started = time.perf_counter()
        jobs = [
            deliver(letter(n, args.size, f"{a}@cantho.gov.vn", rng), [Target(ids[a], 10**11, "INBOX", 0)])
            for n in range(args.messages)
            for a in loaded
        ]
        # The cold accounts share their few messages (one delivery to all of them, as a circular).
        jobs += [
            deliver(
                letter(n, args.size, "undisclosed-recipients:;", rng), [Target(ids[a], 10**11) for a in cold]
            )
            for n in range(COLD_MESSAGES if cold else 0)
        ]
        await asyncio.gather(*jobs)
        elapsed = time.perf_counter() - started
        print(
            f"  setup: {len(loaded)} accounts × {args.messages} messages (+{len(cold)} cold accounts × "
            f"{COLD_MESSAGES}) delivered in {elapsed:.1f} s ({len(jobs) / elapsed:.0f} deliveries/s)",
            flush=True,
        )
        return loaded, cold
    finally:
        await store.close()


# --- the server -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Running:
    process: subprocess.Popen
    port: int

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        assert found, status
        return int(found.group(1))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(data: Path, env: dict[str, str]) -> Running:
    return Running(*serve(data, env, "imap"))


# --- a minimal IMAP client ------------------------------------------------------------------------

LITERAL = re.compile(rb"\{(\d+)\+?\}\r\n$")


class ImapError(Exception):
    pass


def client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Client:
    """Tagged commands over asyncio streams; answers' literals ({n}) are read into their lines."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.serial = 0

    @classmethod
    async def connect(cls, port: int, *, tls: bool, context: ssl.SSLContext) -> Client:
        # a SEARCH answer of a million UIDs is one line of 7 MB
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**25)
        client = cls(reader, writer)
        greeting = await client.item()
        if not greeting.startswith(b"* OK"):
            raise ImapError(greeting)
        if tls:
            await client.command("STARTTLS")
            await writer.start_tls(context)
        return client

    async def item(self) -> bytes:
        """One answer: a line, with any literals it announces and the lines that follow them."""
        line = await self.reader.readuntil(b"\r\n")
        parts = [line]
        while found := LITERAL.search(line):
            parts.append(await self.reader.readexactly(int(found.group(1))))
            line = await self.reader.readuntil(b"\r\n")
            parts.append(line)
        return b"".join(parts)

    def send(self, text: str) -> bytes:
        self.serial += 1
        tag = f"a{self.serial}".encode()
        self.writer.write(tag + b" " + text.encode() + b"\r\n")
        return tag

    async def finish(self, tag: bytes) -> list[bytes]:
        """Read to `tag`'s answer; the untagged answers before it. Anything but OK raises."""
        untagged = []
        while True:
            item = await self.item()
            if item.startswith(tag + b" "):
                if not item.startswith(tag + b" OK"):
                    raise ImapError(item)
                return untagged
            if item.startswith(b"+"):
                raise ImapError(b"unexpected continuation: " + item)
            untagged.append(item)

    async def command(self, text: str) -> list[bytes]:
        return await self.finish(self.send(text))

    async def login(self, local: str) -> None:
        await self.command(f'LOGIN {local} "{PASSWORD}"')

    async def idle(self) -> bytes:
        """Start IDLE; returns once the server's continuation came (the tag, for `done`)."""
        tag = self.send("IDLE")
        while True:
            item = await self.item()
            if item.startswith(b"+"):
                return tag
            if item.startswith(tag + b" "):
                raise ImapError(item)

    async def done(self, tag: bytes) -> None:
        self.writer.write(b"DONE\r\n")
        await self.finish(tag)

    def abort(self) -> None:
        self.writer.transport.abort()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


# --- figures --------------------------------------------------------------------------------------


class Timings:
    def __init__(self) -> None:
        self.by_name: dict[str, list[float]] = {}

    async def timed(self, name: str, work: Awaitable[object]) -> object:
        started = time.perf_counter()
        result = await work
        self.by_name.setdefault(name, []).append(time.perf_counter() - started)
        return result

    def total(self, names: list[str] | None = None) -> int:
        return sum(len(v) for k, v in self.by_name.items() if names is None or k in names)

    def print(self, elapsed: float | None, *, indent: str = "    ") -> None:
        print(f"{indent}{'command':38} {'count':>7} {'ops/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for name, values in self.by_name.items():
            rate = f"{len(values) / elapsed:8.1f}" if elapsed else f"{'':8}"
            print(
                f"{indent}{name:38} {len(values):7} {rate} {percentile(values, 0.5) * 1000:8.2f} "
                f"{percentile(values, 0.95) * 1000:8.2f} {percentile(values, 0.99) * 1000:8.2f}"
            )


def hits(answer: list[bytes]) -> int:
    """How many numbers the (UID) SEARCH answer gives."""
    return sum(len(line.split()) - 2 for line in answer if line.startswith(b"* SEARCH"))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


# --- 1. the mix -----------------------------------------------------------------------------------


async def mix(port: int, args: argparse.Namespace, accounts: list[str], backend: str) -> None:
    context = client_tls()
    signed_in = Timings()
    timings = Timings()

    async def open_one(number: int) -> Client:
        tls = number % 2 == 0
        mode = "starttls" if tls else "plain"
        client = await signed_in.timed(f"connect ({mode})", Client.connect(port, tls=tls, context=context))
        await signed_in.timed(f"LOGIN, argon2id ({mode})", client.login(accounts[number % len(accounts)]))
        return client

    started = time.perf_counter()
    clients = await asyncio.gather(*(open_one(n) for n in range(args.sessions)))
    print(
        f"  1. {args.sessions} sessions signed in (first sign-in of each account) in "
        f"{time.perf_counter() - started:.2f} s",
        flush=True,
    )
    signed_in.print(None)

    deadline = time.monotonic() + args.duration
    found = {"unseen": 0, "text": 0}  # messages the searches found, to see that they find something

    async def work(client: Client, number: int) -> None:
        rng = random.Random(number)
        t = timings.timed
        for _cycle in range(args.max_cycles):
            if time.monotonic() >= deadline:
                break
            answer = await t("SELECT INBOX", client.command("SELECT INBOX"))
            exists = next(int(x.split()[1]) for x in answer if x.endswith(b" EXISTS\r\n"))
            answer = await t("UID FETCH 1:* (FLAGS)", client.command("UID FETCH 1:* (FLAGS)"))
            uids = [int(u) for x in answer for u in re.findall(rb"UID (\d+)", x)]
            first = rng.randint(1, max(1, exists - 49))
            await t(
                "FETCH 50 (ENVELOPE BODYSTRUCTURE)",
                client.command(f"FETCH {first}:{min(exists, first + 49)} (ENVELOPE BODYSTRUCTURE)"),
            )
            await t(
                "UID FETCH 1 (BODY.PEEK[])", client.command(f"UID FETCH {rng.choice(uids)} (BODY.PEEK[])")
            )
            answer = await t("UID SEARCH UNSEEN", client.command("UID SEARCH UNSEEN"))
            found["unseen"] += hits(answer)
            answer = await t("SEARCH TEXT", client.command(f'SEARCH TEXT "{rng.choice(WORDS)}"'))
            found["text"] += hits(answer)
            await t(
                "STORE +FLAGS (\\Seen)", client.command(f"STORE {rng.randint(1, exists)} +FLAGS (\\Seen)")
            )
            await t("NOOP", client.command("NOOP"))
            tag = await t("IDLE (to the continuation)", client.idle())
            await t("DONE (to the tagged OK)", client.done(tag))

    started = time.perf_counter()
    await asyncio.gather(*(work(client, n) for n, client in enumerate(clients)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.command("LOGOUT")
        await client.close()
    total = timings.total()
    cycles = max(1, len(timings.by_name.get("NOOP", [])))
    print(
        f"  1. mix, {args.sessions} sessions for {elapsed:.1f} s: {total / elapsed:.0f} commands/s "
        f"(IDLE and DONE counted apart); searches found on average {found['unseen'] / cycles:.0f} unseen "
        f"and {found['text'] / cycles:.0f} of {args.messages} by TEXT",
        flush=True,
    )
    timings.print(elapsed)
    RESULTS.append((backend, "mix: commands/s (all)", f"{total / elapsed:.0f}"))
    for name in (
        "SELECT INBOX",
        "FETCH 50 (ENVELOPE BODYSTRUCTURE)",
        "UID FETCH 1 (BODY.PEEK[])",
        "SEARCH TEXT",
    ):
        values = timings.by_name[name]
        RESULTS.append(
            (
                backend,
                f"mix: {name} p50/p99 ms",
                f"{percentile(values, 0.5) * 1000:.1f} / {percentile(values, 0.99) * 1000:.1f}",
            )
        )
    cold_login = [v for k, v in signed_in.by_name.items() if k.startswith("LOGIN")]
    values = [x for v in cold_login for x in v]
    RESULTS.append((backend, "LOGIN, argon2id check, p50 ms", f"{percentile(values, 0.5) * 1000:.0f}"))


# --- 2. imaptest-style cycles ---------------------------------------------------------------------

CYCLE = ("LOGIN", "SELECT", "FETCH", "LOGOUT")


async def cycles(
    port: int,
    args: argparse.Namespace,
    *,
    tls: bool,
    pick: Callable[[], str | None],
    label: str,
    backend: str,
) -> None:
    context = client_tls()
    timings = Timings()
    deadline = time.monotonic() + args.cycle_seconds
    count = 0

    async def loop() -> None:
        nonlocal count
        t = timings.timed
        while time.monotonic() < deadline:
            local = pick()
            if local is None:
                break
            client = await t(
                "connect" + (" + STARTTLS" if tls else ""), Client.connect(port, tls=tls, context=context)
            )
            await t("LOGIN", client.login(local))
            await t("SELECT", client.command("SELECT INBOX"))
            await t("FETCH", client.command("FETCH 1:50 (UID FLAGS RFC822.SIZE)"))
            await t("LOGOUT", client.command("LOGOUT"))
            await client.close()
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(args.sessions)))
    elapsed = time.perf_counter() - started
    commands = timings.total(list(CYCLE))
    print(
        f"  2. imaptest-style, {label}: {count} cycles in {elapsed:.1f} s over {args.sessions} connections: "
        f"{commands / elapsed:.0f} commands/s ({count / elapsed:.1f} sign-ins/s)",
        flush=True,
    )
    timings.print(elapsed)
    RESULTS.append((backend, f"imaptest-style commands/s, {label}", f"{commands / elapsed:.0f}"))


def picker(items: list[str], *, once: bool) -> Callable[[], str | None]:
    if once:
        iterator: Iterator[str] = iter(items)
        return lambda: next(iterator, None)
    rng = random.Random(2)
    return lambda: rng.choice(items)


# --- 3. memory per idle connection ----------------------------------------------------------------


async def idle_memory(
    data: Path, env: dict[str, str], args: argparse.Namespace, *, tls: bool, backend: str
) -> None:
    mode = "STARTTLS" if tls else "plain"
    server = await asyncio.to_thread(start, data, env)
    context = client_tls()
    accounts = [f"canbo{n:05d}" for n in range(min(args.idle_accounts, args.accounts))]
    try:
        # Sign every account in once first: its argon2id check is then cached, and 5,000 sign-ins do
        # not all pay it (the server does not share one check among concurrent sign-ins).
        async def warm(local: str) -> None:
            client = await Client.connect(server.port, tls=False, context=context)
            await client.login(local)
            await client.command("LOGOUT")
            await client.close()

        await asyncio.gather(*(warm(a) for a in accounts))
        await asyncio.sleep(1)
        before = server.rss_kib()
        gate = asyncio.Semaphore(100)

        async def one(number: int) -> tuple[Client, bytes]:
            async with gate:
                client = await Client.connect(server.port, tls=tls, context=context)
                await client.login(accounts[number % len(accounts)])
                await client.command("SELECT INBOX")
                return client, await client.idle()

        started = time.perf_counter()
        opened = await asyncio.gather(*(one(n) for n in range(args.idle_connections)), return_exceptions=True)
        elapsed = time.perf_counter() - started
        clients = [c for c in opened if isinstance(c, tuple)]
        failures = [c for c in opened if not isinstance(c, tuple)]
        await asyncio.sleep(2)
        after = server.rss_kib()
        per = (after - before) / max(1, len(clients))
        print(
            f"  3. {len(clients)} idle {mode} connections (signed in, INBOX of {args.messages} selected, "
            f"IDLE) opened in {elapsed:.1f} s ({len(clients) / elapsed:.0f}/s); server RSS "
            f"{before / 1024:.0f} → {after / 1024:.0f} MiB: {per:.0f} KiB per idle connection"
            + (f"; {len(failures)} failed, first: {failures[0]!r}" if failures else ""),
            flush=True,
        )
        if failures:
            RESULTS.append((backend, f"idle {mode} connections that failed", str(len(failures))))
        RESULTS.append((backend, f"KiB per idle connection, {mode}", f"{per:.0f} ({len(clients)} conns)"))
        # Still there? A sample of them leaves IDLE and answers NOOP.
        sample = clients[:: max(1, len(clients) // 20)]
        for client, tag in sample:
            await client.done(tag)
            await client.command("NOOP")
        for client, _tag in clients:
            client.abort()
    finally:
        await asyncio.to_thread(server.stop)


# --- the run --------------------------------------------------------------------------------------


def raise_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def run(backend: str, args: argparse.Namespace) -> None:
    limit = raise_file_limit(args.idle_connections + 1000)
    if args.idle_connections + 200 > limit:
        args.idle_connections = max(0, limit - 200)
        print(f"  open files limited to {limit}: {args.idle_connections} idle connections")
    folder = Path(tempfile.mkdtemp(prefix="hopthu-imap-bench-"))
    data = folder / "data"
    server = None
    print(f"{backend}:", flush=True)
    overall = time.perf_counter()
    try:
        url = await fresh_pg("hopthu_bench_imap") if backend == "postgresql" else ""
        env = {**os.environ, "HOPTHU_IMAP_ALLOW_PLAIN_LOGIN_ON_LOOPBACK": "true"}
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        loaded, cold = await prepare(data, args)

        if args.idle_only:
            await idle_memory(data, env, args, tls=False, backend=backend)
            return
        server = start(data, env)
        await mix(server.port, args, loaded, backend)
        signed_in = loaded[: min(args.sessions, len(loaded))]  # their argon2id checks are cached now
        await cycles(
            server.port,
            args,
            tls=False,
            pick=picker(cold, once=True),
            label="cold (argon2id), plain",
            backend=backend,
        )
        await cycles(
            server.port,
            args,
            tls=False,
            pick=picker(signed_in, once=False),
            label="warm (cached), plain",
            backend=backend,
        )
        await cycles(
            server.port,
            args,
            tls=True,
            pick=picker(signed_in, once=False),
            label="warm (cached), STARTTLS",
            backend=backend,
        )
        server.stop()
        server = None
        if args.idle_connections:
            # Two servers side by side, one per kind of connection: each measures only its own.
            await asyncio.gather(
                idle_memory(data, env, args, tls=False, backend=backend),
                idle_memory(data, env, args, tls=True, backend=backend),
            )
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"  ({backend}: {time.perf_counter() - overall:.0f} s in all)", flush=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--messages", type=int, default=200, help="per account")
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of the mix")
    parser.add_argument("--max-cycles", type=int, default=100_000, help="mix cycles per session, at most")
    parser.add_argument("--cycle-seconds", type=float, default=5.0, help="seconds of each imaptest-style run")
    parser.add_argument("--cold-accounts", type=int, default=60, help="accounts signed in once each")
    parser.add_argument("--idle-connections", type=int, default=5000)
    parser.add_argument("--idle-accounts", type=int, default=10)
    parser.add_argument("--idle-only", action="store_true", help="only section 3, plain connections")


def main() -> None:
    run_client_bench(__doc__ or "", arguments, run)
    print(f"\n{'backend':10} {'figure':50} value")
    for backend, figure, value in RESULTS:
        print(f"{backend:10} {figure:50} {value}")
    print("Dovecot, for comparison: 72 commands/s (argon2id), 736 (plain passwords); 1,912 KiB per idle")
    print("STARTTLS connection, 494 KiB plain.")


if __name__ == "__main__":
    main()
