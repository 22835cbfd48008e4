"""`hopthu backup DEST` while the server runs: the database first, as one consistent snapshot
(SQLite's online backup API, or `pg_dump`, itself one transaction), then the blobs.

Why that order is enough: a message's body is written and made durable before the transaction that
refers to it commits, and bodies never change (they are named by their SHA-256). So every body the
snapshot refers to is already on disk when the blobs are copied; one no longer referred to waits a
grace period before the collector deletes it. Blobs are shared by all the backups in DEST and copied
only when new, so each backup after the first copies only the mail that arrived since.

DEST/<UTC time>/ holds the database, the data folder's configuration and keys, and `manifest.json`
(written last: a folder without it is an unfinished backup); DEST/blobs/ holds the bodies.

Everything is written readable by the server's account only (files 0600, folders 0700). With a key
configured (`backup.key_file`, R13.5) the database, every configuration file and key, and every body
are sealed (`backup/sealed.py`, names ending in `.sealed`) and the manifest records which key sealed
them; the database is snapshotted into the data folder first, so no plaintext copy ever reaches DEST.
Without one, the backup is written as it is and `hopthu backup` says it is not encrypted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hopthu.backup import sealed
from hopthu.config import CONFIG_FILE, Settings
from hopthu.errors import HopThuError
from hopthu.security.private import FILE_MODE, make_private, private_folder
from hopthu.security.secretbox import KEY_FILE
from hopthu.store.db import backend_of

MANIFEST = "manifest.json"
BLOBS = "blobs"
SQLITE_FILE = "hopthu.db"
PG_FILE = "hopthu.pgdump"
CONFIG = "config"


@dataclass(frozen=True, slots=True)
class Backup:
    folder: Path
    backend: str
    blobs_copied: int
    blobs_total: int
    database_bytes: int
    sealed: bool = False  # encrypted with the configured backup key


def libpq_url(url: str) -> str:
    """`postgresql+asyncpg://…` as the PostgreSQL tools write it."""
    return "postgresql://" + url.split("://", 1)[1]


def config_files(settings: Settings) -> list[str]:
    """The data folder's files a restored installation needs beside its database and blobs."""
    return [
        CONFIG_FILE,
        KEY_FILE,
        settings.smtp.dkim_key,
        settings.server.tls_cert,
        settings.server.tls_key,
    ]


def backup_key(settings: Settings, dest: Path | None = None) -> bytes | None:
    """The key backups are sealed with (R13.5), or None when none is configured. It must live outside
    the data folder and outside the backups: whoever holds a copy of either must not hold the key."""
    if not settings.backup.key_file:
        return None
    path = Path(settings.backup.key_file).expanduser()
    places = [settings.data_dir, *([dest] if dest is not None else [])]
    if not path.is_absolute() or any(path.resolve().is_relative_to(p.resolve()) for p in places):
        raise HopThuError(
            f"backup.key_file phải là đường dẫn tuyệt đối ngoài thư mục dữ liệu và nơi sao lưu: {path}",
            f"backup.key_file must be an absolute path outside the data folder and the backups: {path}",
            code="config",
        )
    return sealed.read_key(path)


async def backup(
    settings: Settings, dest: Path, *, now: dt.datetime, progress: Callable[[int, int], None] | None = None
) -> Backup:
    """One backup of the installation `settings` describe into `dest` (made if missing), sealed when
    a backup key is configured."""
    key = backup_key(settings, dest)
    private_folder(dest)
    name = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    final = dest / name
    if final.exists():
        raise HopThuError(f"Đã có bản sao lưu {final}", f"A backup {final} already exists", code="conflict")
    partial = dest / f"{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    backend = backend_of(settings.database_url)
    plain_name = SQLITE_FILE if backend == "sqlite" else PG_FILE
    # The snapshot is taken beside the live database (as private as it), then sealed into DEST.
    scratch = settings.data_dir / f".sao-luu-{uuid.uuid4().hex[:8]}-{plain_name}" if key else None
    target = partial / (plain_name + sealed.SUFFIX if key else plain_name)
    snapshot = scratch or target
    try:
        if backend == "sqlite":
            await asyncio.to_thread(_sqlite_snapshot, settings.data_dir / SQLITE_FILE, snapshot)
        else:
            await _pg_dump(settings.database_url, snapshot)
        make_private(snapshot)
        if scratch is not None and key is not None:
            await asyncio.to_thread(sealed.seal_file, scratch, target, key)
    finally:
        if scratch is not None:
            scratch.unlink(missing_ok=True)
    for relative in config_files(settings):
        source = settings.path(relative)
        if source.exists() and not Path(relative).is_absolute():
            copy = partial / CONFIG / relative
            private_folder(copy.parent)
            if key is None:
                _private_copy(source, copy)
            else:
                sealed.seal_file(source, copy.with_name(copy.name + sealed.SUFFIX), key)
    copied, total = await asyncio.to_thread(copy_bodies, settings.blob_path, dest / BLOBS, progress, key)
    manifest = {
        "created_at": now.isoformat(),
        "backend": backend,
        "database": target.name,
        "blobs": total,
        "format": 1,
        # Which key sealed this backup (its id, never the key), or null for an unencrypted one.
        "sealed": {"cipher": sealed.CIPHER, "key_id": sealed.key_id(key).hex()} if key else None,
    }
    _private_write(partial / MANIFEST, json.dumps(manifest, indent=2).encode())
    _fsync_tree(partial)
    size = target.stat().st_size
    partial.rename(final)
    return Backup(final, backend, copied, total, size, sealed=key is not None)


def _private_copy(source: Path, target: Path) -> None:
    """A copy of `source` readable by the owner only, whatever the source's own mode."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    with source.open("rb") as reading, os.fdopen(fd, "wb") as writing:
        shutil.copyfileobj(reading, writing)


def _private_write(target: Path, data: bytes) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as writing:
        writing.write(data)


def _sqlite_snapshot(source: Path, target: Path) -> None:
    """SQLite's online backup API, in one step: a consistent copy of one moment."""
    if not source.exists():
        raise HopThuError(f"Không thấy cơ sở dữ liệu {source}", f"No database at {source}", code="config")
    with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
        live.backup(copy)  # in one step: one read transaction, writers go on (WAL)


async def _pg_dump(url: str, target: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        "pg_dump",
        "--format=custom",
        "--no-owner",
        f"--file={target}",
        f"--dbname={libpq_url(url)}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await process.communicate()
    if process.returncode != 0:
        raise HopThuError(
            f"pg_dump không chạy được: {error.decode(errors='replace').strip()[:300]}",
            f"pg_dump failed: {error.decode(errors='replace').strip()[:300]}",
            code="backup",
        )


def copy_bodies(
    source: Path, dest: Path, progress: Callable[[int, int], None] | None, key: bytes | None = None
) -> tuple[int, int]:
    """Copy the bodies (blob files) `dest` does not have yet, each made durable before it takes its
    name, sealed with `key` when one is given (`<hash>.zst.sealed`); (copied, seen)."""
    copied = total = 0
    if not source.exists():
        return 0, 0
    for path in source.rglob("*.zst"):
        total += 1
        relative = path.relative_to(source)
        target = dest / relative
        if key is not None:
            target = target.with_name(target.name + sealed.SUFFIX)
        if not target.exists():
            private_folder(target.parent)
            temporary = target.with_name(target.name + ".part")
            if key is None:
                _private_copy(path, temporary)
                with temporary.open("rb") as handle:
                    os.fsync(handle.fileno())
            else:
                sealed.seal_file(path, temporary, key)
            temporary.rename(target)
            copied += 1
        if progress is not None and total % 1000 == 0:
            progress(copied, total)
    return copied, total


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def backups(dest: Path) -> list[Path]:
    """The finished backups in `dest`, oldest first."""
    if not dest.exists():
        return []
    return sorted(p for p in dest.iterdir() if p.is_dir() and (p / MANIFEST).exists())


def prune(dest: Path, keep: int) -> int:
    """Keep the newest `keep` backups; how many were removed. Blobs stay (any backup may need them,
    and a body is stored once however many backups refer to it)."""
    found = backups(dest)
    doomed = found[: max(0, len(found) - keep)]
    for folder in doomed:
        shutil.rmtree(folder)
    for partial in dest.glob("*.partial"):
        shutil.rmtree(partial, ignore_errors=True)
    return len(doomed)
