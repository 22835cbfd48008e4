"""`hopthu restore SRC`: a new data folder from a backup (the newest in SRC when SRC holds several);
`hopthu restore SRC --account ADDRESS`: one mailbox brought back into the running installation, its
folders under "Khôi phục <date>/…" so nothing there now is overwritten or doubled.

A PostgreSQL backup is restored into an empty database given by `--database-url` (`pg_restore`);
restoring one account from it goes through a temporary database on the same server, dropped after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hopthu.backup.snapshot import (
    BLOBS,
    CONFIG,
    MANIFEST,
    PG_FILE,
    SQLITE_FILE,
    backups,
    copy_bodies,
    libpq_url,
)
from hopthu.config import CONFIG_FILE, Settings, load_settings
from hopthu.errors import HopThuError
from hopthu.mail import parse
from hopthu.policy.dates import VIETNAM
from hopthu.store import Store
from hopthu.store.blobs import BlobStore
from hopthu.store.db import backend_of
from hopthu.store.folders import Folders
from hopthu.store.mailstore import Target
from hopthu.store.schema import account, message

RESTORE_QUOTA = 2**62


@dataclass(frozen=True, slots=True)
class Restored:
    source: Path  # the backup folder used
    messages: int
    folders: int = 0  # folders made (one mailbox)
    bodies: int = 0  # message bodies copied (an installation)


def chosen(source: Path) -> Path:
    """The backup folder `source` names: itself, or the newest finished one inside it."""
    if (source / MANIFEST).exists():
        return source
    found = backups(source)
    if not found:
        raise HopThuError(
            f"Không có bản sao lưu nào trong {source}", f"No backup in {source}", code="not_found"
        )
    return found[-1]


def _blob_root(folder: Path) -> Path:
    return folder.parent / BLOBS


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


async def restore_installation(
    source: Path, data: Path, *, database_url: str = "", progress: Callable[[int, int], None] | None = None
) -> Restored:
    """Make the data folder `data` (new or empty) from the backup `source`."""
    folder = chosen(source)
    manifest = _manifest(folder)
    if data.exists() and any(data.iterdir()):
        raise HopThuError(
            f"Thư mục {data} không trống: khôi phục vào một thư mục mới",
            f"The folder {data} is not empty: restore into a new one",
            code="conflict",
        )
    data.mkdir(parents=True, exist_ok=True)
    config = folder / CONFIG
    if config.exists():
        shutil.copytree(config, data, dirs_exist_ok=True)
    if manifest["backend"] == "sqlite":
        if database_url:
            raise HopThuError(
                "Bản sao lưu SQLite được khôi phục vào thư mục dữ liệu, không vào PostgreSQL",
                "A SQLite backup is restored into the data folder, not into PostgreSQL",
            )
        shutil.copyfile(folder / SQLITE_FILE, data / SQLITE_FILE)
        _point_config_at(data, "")
    else:
        if not database_url:
            raise HopThuError(
                "Bản sao lưu PostgreSQL cần --database-url (một cơ sở dữ liệu trống)",
                "A PostgreSQL backup needs --database-url (an empty database)",
            )
        await _pg_restore(folder / PG_FILE, database_url)
        _point_config_at(data, database_url)
    settings = load_settings(data)
    copied, _ = await asyncio.to_thread(copy_bodies, _blob_root(folder), settings.blob_path, progress)
    store = await Store.open(settings)  # brings an older backup's schema up to date
    try:
        messages = (await store.db.all(sa.select(sa.func.count()).select_from(message)))[0][0]
    finally:
        await store.close()
    return Restored(folder, messages, bodies=copied)


def _point_config_at(data: Path, database_url: str) -> None:
    """The restored configuration names the restored database."""
    config = data / CONFIG_FILE
    lines = config.read_text(encoding="utf-8").splitlines() if config.exists() else []
    kept = [line for line in lines if not line.strip().startswith("database_url")]
    out, placed = [], False
    for line in kept:
        out.append(line)
        if line.strip() == "[store]":
            out.append(f'database_url = "{database_url}"')
            placed = True
    if not placed:
        out += ["", "[store]", f'database_url = "{database_url}"']
    config.write_text("\n".join(out) + "\n", encoding="utf-8")


async def _pg_restore(dump: Path, url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        "pg_restore",
        "--no-owner",
        "--exit-on-error",
        f"--dbname={libpq_url(url)}",
        str(dump),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        raise HopThuError(
            f"pg_restore không chạy được: {error.decode(errors='replace').strip()[:300]}",
            f"pg_restore failed: {error.decode(errors='replace').strip()[:300]}",
            code="backup",
        )


@asynccontextmanager
async def _opened(folder: Path, live: Settings) -> AsyncIterator[Store]:
    """The backup's database, opened read-only in spirit: a copy for SQLite, a temporary database
    beside the live one for PostgreSQL (dropped after)."""
    manifest = _manifest(folder)
    scratch = Path(live.data_dir) / f".khoi-phuc-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    temporary = ""
    try:
        if manifest["backend"] == "sqlite":
            shutil.copyfile(folder / SQLITE_FILE, scratch / SQLITE_FILE)
            url = f"sqlite+aiosqlite:///{(scratch / SQLITE_FILE).resolve()}"
        else:
            if backend_of(live.database_url) != "postgresql":
                raise HopThuError(
                    "Khôi phục một hộp thư từ bản sao lưu PostgreSQL cần hệ thống đang dùng PostgreSQL",
                    "Restoring one mailbox from a PostgreSQL backup needs an installation on PostgreSQL",
                )
            temporary = f"hopthu_khoiphuc_{uuid.uuid4().hex[:8]}"
            await _admin(live.database_url, f'CREATE DATABASE "{temporary}"')
            url = live.database_url.rsplit("/", 1)[0] + f"/{temporary}"
            await _pg_restore(folder / PG_FILE, url)
        settings = replace(live, data_dir=scratch, store=replace(live.store, database_url=url))
        store = await Store.open(settings, migrate=True)
        try:
            yield store
        finally:
            await store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if temporary:
            await _admin(live.database_url, f'DROP DATABASE IF EXISTS "{temporary}" WITH (FORCE)')


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def restore_account(source: Path, address: str, live: Store, settings: Settings) -> Restored:
    """Bring one mailbox's folders back from the backup into the live store, as new folders."""
    folder = chosen(source)
    local = address.strip().lower().split("@")[0]
    taken = await live.db.all(sa.select(account.c.id).where(account.c.local == local))
    if not taken:
        raise HopThuError(
            f"Không có hộp thư '{address}' để khôi phục vào", f"No mailbox '{address}' to restore into"
        )
    owner = taken[0][0]
    blobs = BlobStore(_blob_root(folder))
    stamp = (
        dt.datetime.fromisoformat(_manifest(folder)["created_at"])
        .astimezone(VIETNAM)
        .strftime("%Y-%m-%d %H.%M")
    )
    folders = Folders(live.db, live.events, live.mail.clock)
    count = made = 0
    async with _opened(folder, settings) as old:
        found = await old.db.all(sa.select(account.c.id).where(account.c.local == local))
        if not found:
            raise HopThuError(
                f"Bản sao lưu không có hộp thư '{address}'",
                f"The backup has no mailbox '{address}'",
                code="not_found",
            )
        for box in await old.mail.mailboxes(found[0][0]):
            rows = await old.db.all(
                sa.select(
                    message.c.uid,
                    message.c.prefix,
                    message.c.blob_hash,
                    message.c.flags,
                    message.c.keywords,
                    message.c.internal_date,
                )
                .where(message.c.mailbox_id == box.id)
                .order_by(message.c.uid)
            )
            if not rows:
                continue
            name = f"Khôi phục {stamp}/{box.name}"
            await folders.create(owner, name)
            made += 1
            for row in rows:
                data = (row.prefix or b"") + await asyncio.to_thread(blobs.get, row.blob_hash)
                # An operator's restore may take the mailbox past its quota (the quota job then tells
                # the owner); stopping halfway would leave a folder half restored.
                target = Target(
                    owner, quota=RESTORE_QUOTA, mailbox=name, flags=row.flags, keywords=row.keywords
                )
                await live.mail.deliver(data, parse(data), [target], internal_date=row.internal_date)
                count += 1
    return Restored(folder, count, folders=made)
