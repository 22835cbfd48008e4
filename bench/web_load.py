"""The webmail under load: people sign in as a browser does (the form, its CSRF token, the session
cookie), then load their inbox page (newest first, and sorted by sender) and a message page, with C
connections at once for D seconds, for a 1,000-message and a 50,000-message INBOX. Prints requests/s
and p50/p99 per page, and the server's CPU time per request (from /proc: on a shared machine it moves
less than wall time does); one connection gives the sequential p50. The large mailbox should cost about
what the small one does, because every page is served from an index.

(Roundcube on Dovecot, for comparison, lists a 50,000-message inbox 18.5 times a second, p50 527 ms
at 10 connections: 3.5 times slower than a 1,000-message one.)

    python bench/web_load.py [--small 1000] [--large 50000] [--clients 1,10,50] [--duration 10]
                             [--pages "inbox page,by sender,message page"] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from common import fresh_pg, run_client_bench, serve
from imap_bigbox import fill
from imap_load import PASSWORD, Timings, hopthu, percentile

RESULTS: list[tuple[str, str]] = []
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_MESSAGE = re.compile(r'href="(/thu/\d+/\d+)"')


async def signed_in(base: str, local: str) -> tuple[httpx.AsyncClient, str, str]:
    """A client with a session, the inbox page's path and one message's path."""
    client = httpx.AsyncClient(base_url=base, timeout=60)
    form = await client.get("/dang-nhap")
    token = _CSRF.search(form.text)
    assert token, form.text[:200]
    answer = await client.post("/dang-nhap", data={"login": local, "password": PASSWORD, "csrf": token[1]})
    assert answer.status_code == 303, answer.text[:300]
    inbox = await client.get("/thu")
    path = inbox.headers["location"]
    page = await client.get(path)
    found = _MESSAGE.search(page.text)
    assert found, page.text[:300]
    return client, path, found[1]


PAGES = ("inbox page", "by sender", "message page")


async def load(base: str, local: str, clients: int, duration: float, pages: set[str]) -> Timings:
    sessions = [await signed_in(base, local) for _ in range(clients)]
    timings = Timings()
    deadline = time.perf_counter() + duration

    async def one(client: httpx.AsyncClient, inbox: str, letter: str) -> None:
        while time.perf_counter() < deadline:
            for name, path in zip(PAGES, (inbox, inbox + "?sap=nguoi-gui", letter), strict=True):
                if name not in pages:
                    continue
                started = time.perf_counter()
                answer = await client.get(path)
                assert answer.status_code == 200, (path, answer.status_code)
                timings.by_name.setdefault(name, []).append(time.perf_counter() - started)

    await asyncio.gather(*(one(*session) for session in sessions))
    for client, _inbox, _letter in sessions:
        await client.aclose()
    return timings


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-web-bench-"))
    data = folder / "data"
    process = None
    print(f"{backend}:", flush=True)
    try:
        url = await fresh_pg("hopthu_bench_web") if backend == "postgresql" else ""
        # the public address is plain http here: over https the cookies are Secure and __Host- named,
        # and a client speaking plain http to 127.0.0.1 would never send them back
        env = {**os.environ, "HOPTHU_SERVER_WEB_URL": "http://127.0.0.1"}
        hopthu(data, "init", *(["--database-url", url] if url else []), env=env)
        sizes = {"hopnho": args.small, "hoplon": args.large}
        await fill(data, sizes)
        process, port = serve(data, env, "http")
        base = f"http://127.0.0.1:{port}"
        for clients in (int(c) for c in args.clients.split(",")):
            for local, count in sizes.items():
                used = cpu_seconds(process.pid)
                timings = await load(base, local, clients, args.duration, set(args.pages.split(",")))
                used = cpu_seconds(process.pid) - used
                requests = sum(len(values) for values in timings.by_name.values())
                for name, values in timings.by_name.items():
                    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
                    figure = (
                        f"{name:13} {count:>6} messages, {clients:>2} connections: "
                        f"{len(values) / args.duration:7.1f} req/s, p50 {p50:6.1f} ms, p99 {p99:6.1f} ms, "
                        f"server CPU {used / requests * 1000:5.1f} ms/req (all pages)"
                    )
                    print("  " + figure, flush=True)
                    RESULTS.append((backend, figure))
    finally:
        if process is not None and process.poll() is None:
            stopping = time.perf_counter()
            process.terminate()
            process.wait(timeout=60)
            print(f"  stopped {time.perf_counter() - stopping:.1f} s after SIGTERM", flush=True)
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=50_000)
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--pages",
        default=",".join(PAGES),
        help='which pages each connection loads in turn ("inbox page" alone: inbox lists/s)',
    )


def main() -> None:
    run_client_bench(__doc__ or "", arguments, run)
    print()
    for backend, figure in RESULTS:
        print(f"{backend:10} {figure}")


if __name__ == "__main__":
    main()
