"""Honest mail under hostile load: does the city's mail keep flowing while strangers misbehave?

Starts a real `hopthu serve` (SQLite by default), then runs 20 honest SMTP sessions delivering 4 KB
messages over the real MX listener for a fixed time: first alone, then while every attacker below
runs. Meanwhile a probe sends an IMAP NOOP (before sign-in) every 50 ms and /healthz is read every
second: the worst probe latency is the longest stall of the event loop as a client sees it.

Attackers (each its own asyncio task, bounded in time and bytes, from its own loopback address
127.0.0.x so that per-address limits do not count them against the honest clients; being refused
or cut off is the healthy outcome and is counted, not treated as an error):

* imap-list      signed in, a long folder name created, then `LIST "" "*********Z"` in a loop
* imap-{0+}      before sign-in, `a LOGIN {0+}` continued by empty non-synchronising literals
* imap-literal   before sign-in, `a LOGIN {40000000}` and the 40 MB if the server says "+"
* idle           many idle connections on every listener (on TLS ones, no TLS hello), held to the end
* smtp-line      an SMTP command line of up to 16 MB without its line end
* web-compose    a signed-in compose POST whose recipient field is 1 MB
* http-body      POSTs announcing a 64 MB body, and sending it
* imap-spray     LOGIN with wrong passwords for many names, over TLS

Prints msg/s with and without attackers (goal: within 10 %), the worst probe latencies, the stall
the server reports on /healthz when it does (e.g. `loop.max_stall_ms_last_minute`), and what each
attacker achieved.

    python bench/hostile.py [--seconds 30] [--sessions 20] [--size 4096] [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import functools
import json
import multiprocessing
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
from common import PORTS, fresh_pg

PASSWORD = "Hop-Thu-2026"
HONEST = "127.0.0.1"  # honest clients and probes; each attacker has its own 127.0.0.x
ROLES = ("http", "smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s")
TLS_ROLES = ("submissions", "imaps", "pop3s")


# --- the server ----------------------------------------------------------------------------------------


def hopthu(data: Path, *args: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hopthu", "--data", str(data), *args],
        check=True,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
    )
    return done.stdout


def serve(data: Path, env: dict[str, str]) -> tuple[subprocess.Popen, dict[str, int]]:
    """`hopthu serve` on free ports; the port of every listener it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hopthu", "--data", str(data), "serve", *PORTS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    ports: dict[str, int] = {}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.match(r"(\w+): \w+://[\d.]+:(\d+)", line)
        if found:
            ports[found.group(1)] = int(found.group(2))
        elif ports:
            return process, ports
        if not line and process.poll() is not None:
            break
    process.kill()
    raise SystemExit("hopthu serve did not start")


def prepare(data: Path, env: dict[str, str], url: str, recipients: int) -> tuple[list[str], str]:
    """An agency, `recipients` mailboxes for the honest mail, and one person who can sign in."""
    hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
    hopthu(data, "agency", "add", "--name", "Sở Nội vụ", "--code", "sonv", env=env)
    people = data.parent / "people.csv"
    with people.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["family", "middle", "given", "agency", "address"])
        writer.writerows(["Nguyễn", "Văn", "Minh", "sonv", f"canbo{n:05d}"] for n in range(recipients))
    hopthu(data, "account", "import", str(people), env=env)
    added = json.loads(
        hopthu(
            data,
            *("account", "add", "--family", "Trần", "--middle", "Thị", "--given", "Lan", "--agency", "sonv"),
            "--json",
            env=env,
        )
    )
    local = added["address"].split("@")[0]
    hopthu(
        data,
        "account",
        "change-password",
        local,
        env=env,
        stdin=f"{added['temporary_password']}\n{PASSWORD}\n",
    )
    return [f"canbo{n:05d}@cantho.gov.vn" for n in range(recipients)], local


@functools.cache
def tls() -> ssl.SSLContext:
    """One client context for every attacker: making one loads the system's CA file, which would
    cost the bench's own loop more than the handshakes cost the server."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# --- honest mail -----------------------------------------------------------------------------------------


def message(number: int, size: int, to: str) -> bytes:
    head = (
        f"From: Ban <ban@example.org>\r\nTo: {to}\r\nSubject: Cong van so {number}\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <{number}.{time.time_ns()}@example.org>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    line = f"Kinh gui cac don vi, van ban so {number} ve viec trien khai nhiem vu nam 2026.\r\n".encode()
    return head + line * max(1, (size - len(head)) // len(line))


async def honest_mail(port: int, sessions: int, size: int, seconds: float, to: list[str]) -> tuple[int, int]:
    """(messages accepted, failures) by `sessions` SMTP sessions sending for `seconds`."""
    deadline = time.monotonic() + seconds
    sent = failed = 0
    counter = iter(range(10**9))

    async def session() -> None:
        nonlocal sent, failed
        while time.monotonic() < deadline:
            client = aiosmtplib.SMTP(hostname=HONEST, port=port, start_tls=False, timeout=60)
            try:
                await client.connect()
                while time.monotonic() < deadline:
                    number = next(counter)
                    recipient = to[number % len(to)]
                    await client.sendmail("ban@example.org", [recipient], message(number, size, recipient))
                    sent += 1
                with contextlib.suppress(Exception):
                    await client.quit()
            except Exception:
                failed += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*[session() for _ in range(sessions)])
    return sent, failed


# --- probes --------------------------------------------------------------------------------------------


def peak_memory(pid: int) -> str:
    """The server's peak resident memory so far (Linux), for "memory must not grow without bound"."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "unknown"
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return f"{int(found.group(1)) / 1024:.0f} MiB" if found else "unknown"


@dataclass
class Probe:
    worst_noop: float = 0.0
    worst_healthz: float = 0.0
    noop_failures: int = 0
    healthz_failures: int = 0
    reported: list[Any] = field(default_factory=list)


async def probe_noop(port: int, until: float, probe: Probe) -> None:
    """`p NOOP` every 50 ms before sign-in; the worst answer time. A connection closed under it (a
    pre-login timeout, say) is opened again, and counted."""
    reader = writer = None
    while time.monotonic() < until:
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HONEST, port), 30)
                await asyncio.wait_for(reader.readline(), 30)  # greeting
            assert reader is not None
            started = time.monotonic()
            writer.write(b"p NOOP\r\n")
            while not (await asyncio.wait_for(reader.readline(), 30)).startswith(b"p "):
                pass
            probe.worst_noop = max(probe.worst_noop, time.monotonic() - started)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            probe.noop_failures += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.05)
            continue
        await asyncio.sleep(0.05)
    if writer is not None:
        writer.close()


async def probe_healthz(http: str, until: float, probe: Probe) -> None:
    """/healthz once a second: its answer time, and the stall figure if the server reports one."""
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                answer = await client.get(f"{http}/healthz")
                probe.worst_healthz = max(probe.worst_healthz, time.monotonic() - started)
                stall = find_stall(answer.json())
                if stall is not None:
                    probe.reported.append(stall)
            except (httpx.HTTPError, ValueError):
                probe.healthz_failures += 1
            await asyncio.sleep(1.0)


def find_stall(value: Any, path: str = "") -> tuple[str, Any] | None:
    """The first field of /healthz whose name speaks of a stall or lag (read defensively: the
    server may not report one at all)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(inner, (int, float)) and re.search(r"stall|lag", str(key), re.IGNORECASE):
                return name, inner
            found = find_stall(inner, name)
            if found is not None:
                return found
    return None


# --- attackers -----------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one attacker did: operations tried, answered, refused or cut off, bytes sent."""

    name: str
    tries: int = 0
    answered: int = 0
    refused: int = 0
    bytes_sent: int = 0
    worst: float = 0.0  # longest wait for an answer, seconds
    note: str = ""

    def line(self) -> str:
        return (
            f"  {self.name:12} {self.tries:6d} tries {self.answered:6d} answered "
            f"{self.refused:6d} refused/cut {self.bytes_sent / 2**20:8.1f} MiB sent  "
            f"worst answer {self.worst:6.2f} s  {self.note}"
        )


class Attack:
    def __init__(self, ports: dict[str, int], local: str, until: float, source: str) -> None:
        self.ports = ports
        self.local = local
        self.until = until
        self.source = source

    def left(self) -> float:
        return self.until - time.monotonic()

    async def connect(
        self, role: str, timeout: float = 10, handshake: bool = True
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection from this attacker's address; on a TLS listener, with the TLS handshake
        unless `handshake` is False (a client that never sends its hello costs nothing to hold)."""
        context = tls() if role in TLS_ROLES and handshake else None
        return await asyncio.wait_for(
            asyncio.open_connection(
                HONEST, self.ports[role], ssl=context, local_addr=(self.source, 0), limit=2**20
            ),
            timeout,
        )

    async def send(self, writer: asyncio.StreamWriter, data: bytes, tally: Tally) -> None:
        writer.write(data)
        tally.bytes_sent += len(data)
        await asyncio.wait_for(writer.drain(), max(0.1, min(30, self.left())))

    async def command(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tag: bytes,
        line: bytes,
        tally: Tally,
    ) -> bytes:
        """Send one IMAP command; its tagged answer line."""
        started = time.monotonic()
        await self.send(writer, tag + b" " + line + b"\r\n", tally)
        while True:
            answer = await asyncio.wait_for(reader.readline(), max(0.1, min(30, self.left())))
            if not answer:
                raise ConnectionError("closed")
            if answer.startswith(tag + b" "):
                tally.worst = max(tally.worst, time.monotonic() - started)
                return answer


async def bounded(tally: Tally, body: Callable[[], Awaitable[None]], attack: Attack) -> None:
    """Run an attacker's loop until its deadline; refusals and hang-ups are counted, not raised."""
    while attack.left() > 0:
        tally.tries += 1
        try:
            await asyncio.wait_for(body(), max(0.1, attack.left()))
        except (TimeoutError, OSError, asyncio.IncompleteReadError, httpx.HTTPError, ValueError):
            if attack.left() > 0:  # cut off by the server, not by the end of the phase
                tally.refused += 1
                await asyncio.sleep(0.1)


async def imap_list(attack: Attack) -> Tally:
    tally = Tally("imap-list")

    async def body() -> None:
        reader, writer = await attack.connect("imaps")
        try:
            await reader.readline()
            await attack.command(reader, writer, b"l", f'LOGIN {attack.local} "{PASSWORD}"'.encode(), tally)
            long_name = "Công văn " + "a" * 150
            await attack.command(reader, writer, b"c", f'CREATE "{long_name}"'.encode(), tally)
            while attack.left() > 0:
                answer = await attack.command(reader, writer, b"w", b'LIST "" "*********Z"', tally)
                tally.answered += answer.startswith(b"w OK")
                tally.refused += not answer.startswith(b"w OK")
        finally:
            writer.close()

    await bounded(tally, body, attack)
    return tally


async def imap_zero_literals(attack: Attack) -> Tally:
    tally = Tally("imap-{0+}")
    chunk = b" {0+}\r\n" * 9000  # 63 KB of empty literals, each continuing the same command

    async def body() -> None:
        reader, writer = await attack.connect("imap")
        try:
            await reader.readline()
            await attack.send(writer, b"a LOGIN {0+}\r\n", tally)
            for _ in range(1000):  # at most 63 MB per connection
                if attack.left() <= 0 or reader.at_eof():
                    break
                await attack.send(writer, chunk, tally)
            tally.note = f"last connection: {bytes(await _answer(reader))[:60]!r}"
        finally:
            writer.close()

    await bounded(tally, body, attack)
    return tally


async def _answer(reader: asyncio.StreamReader) -> bytes:
    with contextlib.suppress(Exception):
        return await asyncio.wait_for(reader.readline(), 1)
    return b""


async def imap_big_literal(attack: Attack) -> Tally:
    tally = Tally("imap-literal")
    size = 40_000_000
    block = b"x" * 65536

    async def body() -> None:
        reader, writer = await attack.connect("imap")
        try:
            await reader.readline()
            started = time.monotonic()
            await attack.send(writer, b"a LOGIN {%d}\r\n" % size, tally)
            answer = await asyncio.wait_for(reader.readline(), 10)
            tally.worst = max(tally.worst, time.monotonic() - started)
            if not answer.startswith(b"+"):
                tally.refused += 1
                tally.note = f"answer: {answer[:60]!r}"
                await asyncio.sleep(0.2)
                return
            tally.answered += 1
            for _ in range(size // len(block)):
                if attack.left() <= 0:
                    break
                await attack.send(writer, block, tally)
        finally:
            writer.close()

    await bounded(tally, body, attack)
    return tally


async def idle_connections(attack: Attack, per_listener: int) -> Tally:
    tally = Tally("idle")
    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opening = asyncio.Semaphore(20)  # a steady stream of connections, not one burst at the backlog

    async def one(role: str) -> None:
        tally.tries += 1
        try:
            async with opening:
                held.append(await attack.connect(role, handshake=False))
        except (OSError, TimeoutError):
            tally.refused += 1

    await asyncio.gather(*[one(role) for role in ROLES for _ in range(per_listener)])
    tally.answered = len(held)
    await asyncio.sleep(max(0, attack.left() - 1))
    closed = await asyncio.gather(*[_closed_by_server(reader) for reader, _ in held])
    tally.note = f"{len(held)} opened, {sum(closed)} closed by the server before the end"
    for _, writer in held:
        writer.close()
    return tally


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server hung up on this connection (what it sent before that is read away)."""
    try:
        while await asyncio.wait_for(reader.read(65536), 0.2):
            pass
    except TimeoutError:
        return False
    except (OSError, ConnectionError, ssl.SSLError):
        return True
    return True


async def tls_handshakes(attack: Attack, at_once: int) -> Tally:
    """`at_once` clients that each complete a TLS handshake on a TLS listener, then hang up, again."""
    tally = Tally("tls-hello")
    roles = iter(TLS_ROLES * 10**6)

    async def body() -> None:
        started = time.monotonic()
        _, writer = await attack.connect(next(roles), timeout=30)
        tally.worst = max(tally.worst, time.monotonic() - started)
        tally.answered += 1
        writer.close()

    await asyncio.gather(*[bounded(tally, body, attack) for _ in range(at_once)])
    return tally


async def smtp_long_line(attack: Attack) -> Tally:
    tally = Tally("smtp-line")
    block = b"x" * 65536

    async def body() -> None:
        reader, writer = await attack.connect("smtp")
        try:
            await reader.readline()
            await attack.send(writer, b"EHLO ", tally)
            for _ in range(256):  # 16 MB without a line end
                if attack.left() <= 0:
                    break
                await attack.send(writer, block, tally)
            await attack.send(writer, b"\r\n", tally)
            answer = await _answer(reader)
            tally.answered += bool(answer)
            tally.note = f"answer: {answer[:60]!r}"
        finally:
            writer.close()

    await bounded(tally, body, attack)
    return tally


async def web_compose(attack: Attack, http: str) -> Tally:
    tally = Tally("web-compose")
    recipients = ", ".join(f"canbo{n % 100000:05d}@cantho.gov.vn" for n in range(40_000))[: 2**20]

    async def body() -> None:
        transport = httpx.AsyncHTTPTransport(local_address=attack.source)
        async with httpx.AsyncClient(base_url=http, timeout=60, transport=transport) as client:
            page = await client.get("/dang-nhap")
            csrf = _csrf(page.text)
            await client.post(
                "/dang-nhap", data={"login": attack.local, "password": PASSWORD, "csrf": csrf, "next": "/"}
            )
            form = await client.get("/soan-thu")
            csrf = _csrf(form.text)
            while attack.left() > 0:
                started = time.monotonic()
                data = {"csrf": csrf, "to": recipients, "subject": "x", "body": "x"}
                tally.bytes_sent += len(recipients)
                answer = await client.post("/soan-thu", data=data)
                tally.worst = max(tally.worst, time.monotonic() - started)
                tally.answered += answer.status_code < 500
                tally.refused += answer.status_code >= 400
                expired = "form has expired" in answer.text  # the CSRF check, not the recipients, refused
                tally.note = f"last status {answer.status_code}{' (form expired!)' if expired else ''}"

    await bounded(tally, body, attack)
    return tally


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    return found.group(1) if found else ""


async def http_body(attack: Attack) -> Tally:
    tally = Tally("http-body")
    size = 64 * 2**20
    block = b"a" * 65536

    async def body() -> None:
        reader, writer = await attack.connect("http")
        try:
            head = (
                "POST /dang-nhap HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {size}\r\n\r\n"
            ).encode()
            await attack.send(writer, head + b"login=", tally)
            for _ in range(size // len(block)):
                if attack.left() <= 0 or reader.at_eof():
                    break
                await attack.send(writer, block, tally)
            answer = await _answer(reader)
            tally.answered += bool(answer)
            tally.note = f"answer: {answer[:40]!r}"
        finally:
            writer.close()

    await bounded(tally, body, attack)
    return tally


async def imap_spray(attack: Attack) -> Tally:
    tally = Tally("imap-spray")
    counter = iter(range(10**9))

    async def body() -> None:
        reader, writer = await attack.connect("imaps")
        try:
            await reader.readline()
            while attack.left() > 0:
                n = next(counter)
                name = attack.local if n % 2 else f"canbo{n % 200:05d}"
                answer = await attack.command(reader, writer, b"s", f'LOGIN {name} "Sai-{n}"'.encode(), tally)
                tally.answered += 1
                tally.refused += answer.startswith(b"s NO")
        finally:
            writer.close()

    await bounded(tally, body, attack)
    return tally


ATTACKS = (
    "imap-list",
    "imap-{0+}",
    "imap-literal",
    "idle",
    "tls-hello",
    "smtp-line",
    "web-compose",
    "http-body",
    "imap-spray",
)


async def attackers(
    ports: dict[str, int], local: str, until: float, idle: int, chosen: tuple[str, ...]
) -> list[Tally]:
    http = f"http://{HONEST}:{ports['http']}"

    def at(n: int) -> Attack:
        return Attack(ports, local, until, f"127.0.0.{n}")

    makers: dict[str, Callable[[], list[Awaitable[Tally]]]] = {
        "imap-list": lambda: [imap_list(at(2))],
        "imap-{0+}": lambda: [imap_zero_literals(at(3)), imap_zero_literals(at(3))],
        "imap-literal": lambda: [imap_big_literal(at(4)), imap_big_literal(at(4))],
        "idle": lambda: [idle_connections(at(5), idle)],
        "tls-hello": lambda: [tls_handshakes(at(10), 30)],
        "smtp-line": lambda: [smtp_long_line(at(6)), smtp_long_line(at(6))],
        "web-compose": lambda: [web_compose(at(7), http)],
        "http-body": lambda: [http_body(at(8))],
        "imap-spray": lambda: [imap_spray(at(9)), imap_spray(at(9))],
    }
    results = await asyncio.gather(*[c for name in chosen for c in makers[name]()], return_exceptions=True)
    tallies: list[Tally] = []
    for result in results:
        if isinstance(result, Tally):
            tallies.append(result)
        else:
            tallies.append(Tally("?", note=f"attacker failed: {result!r}"))
    return tallies


# --- the run -------------------------------------------------------------------------------------------


async def phase(
    ports: dict[str, int], args: argparse.Namespace, to: list[str], local: str, hostile: bool
) -> tuple[float, int, Probe, list[Tally]]:
    until = time.monotonic() + args.seconds
    probe = Probe()
    http = f"http://{HONEST}:{ports['http']}"
    probes = [
        asyncio.create_task(probe_noop(ports["imap"], until, probe)),
        asyncio.create_task(probe_healthz(http, until, probe)),
    ]
    chosen = tuple(a.strip() for a in args.attacks.split(",") if a.strip())
    # The attackers in a process of their own: their CPU must not slow the honest clients' loop.
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    attack = context.Process(target=_attack_process, args=(ports, local, until, args.idle, chosen, results))
    if hostile:
        attack.start()
    started = time.monotonic()
    sent, failed = await honest_mail(ports["smtp"], args.sessions, args.size, args.seconds, to)
    elapsed = time.monotonic() - started
    tallies: list[Tally] = []
    if hostile:
        tallies = await asyncio.to_thread(results.get, True, 120)
        attack.join(30)
    await asyncio.gather(*probes, return_exceptions=True)
    return sent / elapsed, failed, probe, tallies


def _attack_process(
    ports: dict[str, int], local: str, until: float, idle: int, chosen: tuple[str, ...], results: Any
) -> None:
    results.put(asyncio.run(attackers(ports, local, until, idle, chosen)))


def report_probe(label: str, probe: Probe) -> None:
    reported = "not reported"
    if probe.reported:
        name = probe.reported[-1][0]
        reported = f"{max(value for _, value in probe.reported)} ({name}, worst of the readings)"
    print(
        f"  {label:9} worst IMAP NOOP {probe.worst_noop * 1000:8.0f} ms ({probe.noop_failures} reconnects), "
        f"worst /healthz {probe.worst_healthz * 1000:8.0f} ms ({probe.healthz_failures} failed); "
        f"stall on /healthz: {reported}"
    )


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-hostile-bench-"))
    data = folder / "data"
    process = None
    try:
        url = await fresh_pg("hopthu_bench_hostile") if args.backend == "postgresql" else ""
        dns = folder / "dns.toml"
        dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
        env = {**os.environ, "HOPTHU_SMTP_DNS_FILE": str(dns)}
        to, local = prepare(data, env, url, args.recipients)
        process, ports = serve(data, env)
        print(
            f"{args.backend}: {args.sessions} honest SMTP sessions, {args.size} B messages, "
            f"{args.seconds:.0f} s per phase"
        )
        calm, calm_failed, calm_probe, _ = await phase(ports, args, to, local, hostile=False)
        print(f"  alone     {calm:8.1f} msg/s ({calm_failed} failed sessions)")
        report_probe("alone", calm_probe)
        print(f"  server peak memory after the calm phase: {peak_memory(process.pid)}")
        rough, rough_failed, rough_probe, tallies = await phase(ports, args, to, local, hostile=True)
        change = (rough - calm) / calm * 100 if calm else 0.0
        verdict = "within" if abs(change) <= 10 else "NOT within"
        print(
            f"  attacked  {rough:8.1f} msg/s ({rough_failed} failed sessions): "
            f"{change:+.0f} %, {verdict} 10 %"
        )
        report_probe("attacked", rough_probe)
        print("  attackers (refused/cut is the healthy outcome):")
        for tally in tallies:
            print(tally.line())
        print(f"  server peak memory after the hostile phase: {peak_memory(process.pid)}")
        alive = process.poll() is None
        print(f"  server still running: {'yes' if alive else 'NO (exit ' + str(process.returncode) + ')'}")
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--recipients", type=int, default=100)
    parser.add_argument("--idle", type=int, default=50, help="idle connections per listener")
    parser.add_argument("--attacks", default=",".join(ATTACKS), help=f"some of {','.join(ATTACKS)}")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
