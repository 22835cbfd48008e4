"""What the benchmarks share: a fresh PostgreSQL database, disk usage, the command line."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hopthu.config import load_settings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.store import Store
from hopthu.store.schema import account

PG_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
# Every listener on a free port: benches read the ports `hopthu serve` prints.
PORTS = [
    *("--http-port", "0", "--smtp-port", "0", "--submission-port", "0", "--submissions-port", "0"),
    *("--imap-port", "0", "--imaps-port", "0", "--pop3-port", "0", "--pop3s-port", "0"),
]


def serve(
    data: Path, env: dict[str, str], role: str, extra: Sequence[str] = ()
) -> tuple[subprocess.Popen, int]:
    """`hopthu serve` on `data` as a subprocess (its memory and CPU its own), with `extra` options
    (`--workers 2`); the port of `role`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hopthu", "--data", str(data), "serve", *PORTS, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        found = re.match(rf"{role}: \w+://[\d.]+:(\d+)", line)
        if found:
            return process, int(found.group(1))
        if not line and process.poll() is not None:
            raise SystemExit("hopthu serve did not start")


async def fresh_pg(name: str) -> str:
    """An empty database called `name` on the local PostgreSQL; its URL."""
    engine = create_async_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()
    return f"{PG_SERVER}/{name}"


async def pg_size(url: str) -> int:
    """Bytes the database at `url` occupies (0 for SQLite, whose file is in the data folder)."""
    if not url.startswith("postgresql"):
        return 0
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        size = (await conn.execute(sa.text("SELECT pg_database_size(current_database())"))).scalar_one()
    await engine.dispose()
    return size


def disk(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_per_backend(
    doc: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[str, argparse.Namespace], Awaitable[None]],
) -> None:
    """Parse the common command line and run the benchmark once per backend asked for."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--circular-size", type=int, default=2**20)
    parser.add_argument("--circular-recipients", type=int, default=500)
    parser.add_argument("--backend", default="sqlite,postgresql")
    args = parser.parse_args()
    for backend in args.backend.split(","):
        asyncio.run(run(backend.strip(), args))


def run_client_bench(
    doc: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[str, argparse.Namespace], Awaitable[None]],
) -> None:
    """`run_per_backend` for the benches that drive many client connections: SQLite unless
    `--backend` says otherwise, and uvloop on the client side so the client costs less CPU."""
    if not any(a == "--backend" or a.startswith("--backend=") for a in sys.argv[1:]):
        sys.argv[1:1] = ["--backend", "sqlite"]
    try:
        import uvloop
    except ImportError:
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    run_per_backend(doc, add_arguments, run)


async def people_with_one_password(data: Path, locals_: list[str], password: str) -> None:
    """Accounts `locals_` in one agency, all with the same argon2id hash of `password`: one real
    password change (one hash computed), then that hash given to everyone, so that each account's
    first sign-in pays a full argon2id check without the setup paying one per account."""
    settings = load_settings(data)
    store = await Store.open(settings)
    try:
        ctx = DirectoryContext(store, settings)
        directory = Directory(ctx)
        await directory.agencies.add("Sở Nội vụ", code="sonv", actor="bench")
        rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv", address=local) for local in locals_]
        results = await directory.people.register(rows, actor="bench")
        refused = [r.error for r in results if not r.address]
        if refused:
            raise SystemExit(f"accounts refused: {refused[:3]}")
        first = results[0]
        await directory.accounts.change_password(first.address, first.temporary_password, password)
        async with store.db.write() as conn:
            stored = (
                await conn.execute(sa.select(account.c.password_hash).where(account.c.local == locals_[0]))
            ).scalar_one()
            await conn.execute(
                sa.update(account)
                .where(account.c.local.in_(locals_))
                .values(password_hash=stored, password_changed_at=ctx.now(), must_change_password=False)
            )
    finally:
        await store.close()


def circular(size: int) -> bytes:
    """A circular with a PDF-like attachment of about `size` bytes (random, so it does not compress)."""
    attachment = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        b"From: ban@example.org\r\nTo: undisclosed-recipients:;\r\nSubject: Thong bao chung\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nKinh gui cac don vi.\r\n--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="thongbao.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + attachment + b"--b--\r\n"
    )
