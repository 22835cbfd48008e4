"""`hopthu restore SRC`: a new data folder from a backup (the newest in SRC when SRC holds several);
`hopthu restore SRC --account ADDRESS`: one mailbox brought back into the running installation, its
folders under "Khôi phục <date>/…" so nothing there now is overwritten or doubled.

A PostgreSQL backup is restored into an empty database given by `--database-url` (`pg_restore`);
restoring one account from it goes through a temporary database on the same server, dropped after.

A sealed backup (R13.5) is opened with the key that sealed it (`--key-file` or `backup.key_file`);
every file is authenticated as it is decrypted, and a wrong key or a changed byte stops the restore
with words saying which. Whatever is restored is readable by the server's account only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import zstandard

from hopthu.backup import sealed
from hopthu.backup.snapshot import (
    BLOBS,
    CONFIG,
    MANIFEST,
    PG_FILE,
    SQLITE_FILE,
    backups,
    libpq_url,
)
from hopthu.config import CONFIG_FILE, Settings, load_settings
from hopthu.directory.lookup import account_id
from hopthu.errors import HopThuError
from hopthu.mail import parse
from hopthu.policy.dates import VIETNAM
from hopthu.security.private import FILE_MODE, private_folder
from hopthu.store import Store, contents, tempdb
from hopthu.store.db import backend_of
from hopthu.store.types import Target

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


def _key_for(folder: Path, manifest: dict, key: bytes | None) -> bytes | None:
    """The key to open this backup with: None for an unencrypted one; an encrypted one refuses to
    start without its key, or with another (the manifest names the key by its id)."""
    seal = manifest.get("sealed")
    if not seal:
        return None
    if key is None:
        raise HopThuError(
            f"Bản sao lưu {folder} được mã hóa: hãy cho khóa của nó (--key-file hoặc backup.key_file)",
            f"The backup {folder} is encrypted: give its key (--key-file or backup.key_file)",
            code="backup",
        )
    if sealed.key_id(key).hex() != seal.get("key_id"):
        raise sealed.wrong_key(folder)
    return key


def _bring(source: Path, target: Path, key: bytes | None) -> None:
    """One file of a backup into place (0600): decrypted when sealed, copied when not."""
    private_folder(target.parent)
    if source.name.endswith(sealed.SUFFIX):
        if key is None:
            raise HopThuError(
                f"{source} được mã hóa nhưng bản sao lưu không ghi khóa nào",
                f"{source} is encrypted but the backup names no key",
                code="backup",
            )
        sealed.open_file(source, target, key)
        return
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with source.open("rb") as reading, os.fdopen(fd, "wb") as writing:
        shutil.copyfileobj(reading, writing)


def _stored(folder: Path, name: str) -> Path:
    """A backup's file by its plain name: the sealed one when there is one."""
    candidate = folder / (name + sealed.SUFFIX)
    return candidate if candidate.exists() else folder / name


def restore_bodies(
    source: Path, dest: Path, key: bytes | None, progress: Callable[[int, int], None] | None = None
) -> int:
    """The backup's bodies into the blob folder `dest`, decrypting sealed ones; how many copied.
    Each takes its name only once complete, so a body in place always means whole bytes."""
    copied = 0
    if not source.exists():
        return 0
    for path in source.rglob("*.zst*"):
        name = path.name.removesuffix(sealed.SUFFIX)
        if not name.endswith(".zst"):
            continue  # an unfinished copy (.part)
        target = dest / path.parent.relative_to(source) / name
        if target.exists():
            continue
        temporary = target.with_name(target.name + ".part")
        _bring(path, temporary, key)
        temporary.rename(target)
        copied += 1
        if progress is not None and copied % 1000 == 0:
            progress(copied, copied)
    return copied


async def restore_installation(
    source: Path,
    data: Path,
    *,
    database_url: str = "",
    progress: Callable[[int, int], None] | None = None,
    key: bytes | None = None,
) -> Restored:
    """Make the data folder `data` (new or empty) from the backup `source`."""
    folder = chosen(source)
    manifest = _manifest(folder)
    key = _key_for(folder, manifest, key)
    if data.exists() and any(data.iterdir()):
        raise HopThuError(
            f"Thư mục {data} không trống: khôi phục vào một thư mục mới",
            f"The folder {data} is not empty: restore into a new one",
            code="conflict",
        )
    private_folder(data)
    try:
        copied = await _restore_into(folder, manifest, data, database_url, key, progress)
    except HopThuError:
        for left in data.iterdir():  # a half-restored folder must not look like a good one
            shutil.rmtree(left) if left.is_dir() else left.unlink()
        raise
    settings = load_settings(data)
    store = await Store.open(settings)  # brings an older backup's schema up to date
    try:
        messages = await contents.message_count(store.db)
    finally:
        await store.close()
    return Restored(folder, messages, bodies=copied)


async def _restore_into(
    folder: Path,
    manifest: dict,
    data: Path,
    database_url: str,
    key: bytes | None,
    progress: Callable[[int, int], None] | None,
) -> int:
    """The configuration, keys, bodies and database of the backup `folder` into the data folder
    `data`; how many bodies were copied. The database comes last, so a body found damaged stops
    the restore before an empty PostgreSQL database has been filled."""
    sqlite = manifest["backend"] == "sqlite"
    if sqlite and database_url:
        raise HopThuError(
            "Bản sao lưu SQLite được khôi phục vào thư mục dữ liệu, không vào PostgreSQL",
            "A SQLite backup is restored into the data folder, not into PostgreSQL",
        )
    if not sqlite and not database_url:
        raise HopThuError(
            "Bản sao lưu PostgreSQL cần --database-url (một cơ sở dữ liệu trống)",
            "A PostgreSQL backup needs --database-url (an empty database)",
        )
    config = folder / CONFIG
    if config.exists():
        for path in sorted(config.rglob("*")):
            if path.is_file():
                relative = path.relative_to(config)
                _bring(path, data / relative.with_name(relative.name.removesuffix(sealed.SUFFIX)), key)
    blobs = load_settings(data).blob_path
    copied = await asyncio.to_thread(restore_bodies, _blob_root(folder), blobs, key, progress)
    if sqlite:
        await asyncio.to_thread(_bring, _stored(folder, SQLITE_FILE), data / SQLITE_FILE, key)
        _point_config_at(data, "")
    else:
        dump = data / f".khoi-phuc-{PG_FILE}"
        try:
            await asyncio.to_thread(_bring, _stored(folder, PG_FILE), dump, key)
            await _pg_restore(dump, database_url)
        finally:
            dump.unlink(missing_ok=True)
        _point_config_at(data, database_url)
    return copied


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
async def _opened(folder: Path, live: Settings, key: bytes | None) -> AsyncIterator[Store]:
    """The backup's database, opened read-only in spirit: a copy for SQLite, a temporary database
    beside the live one for PostgreSQL (dropped after)."""
    manifest = _manifest(folder)
    scratch = Path(live.data_dir) / f".khoi-phuc-{uuid.uuid4().hex[:8]}"
    scratch.mkdir(mode=0o700)
    temporary = ""
    try:
        if manifest["backend"] == "sqlite":
            await asyncio.to_thread(_bring, _stored(folder, SQLITE_FILE), scratch / SQLITE_FILE, key)
            url = f"sqlite+aiosqlite:///{(scratch / SQLITE_FILE).resolve()}"
        else:
            if backend_of(live.database_url) != "postgresql":
                raise HopThuError(
                    "Khôi phục một hộp thư từ bản sao lưu PostgreSQL cần hệ thống đang dùng PostgreSQL",
                    "Restoring one mailbox from a PostgreSQL backup needs an installation on PostgreSQL",
                )
            temporary = f"hopthu_khoiphuc_{uuid.uuid4().hex[:8]}"
            url = await tempdb.create(live.database_url, temporary)
            await asyncio.to_thread(_bring, _stored(folder, PG_FILE), scratch / PG_FILE, key)
            await _pg_restore(scratch / PG_FILE, url)
        settings = replace(live, data_dir=scratch, store=replace(live.store, database_url=url))
        store = await Store.open(settings, migrate=True)
        try:
            yield store
        finally:
            await store.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if temporary:
            await tempdb.drop(live.database_url, temporary)


def _body(root: Path, digest: str, key: bytes | None) -> bytes:
    """One body of the backup, decrypted when sealed, decompressed."""
    plain = root / digest[:2] / digest[2:4] / f"{digest}.zst"
    stored = plain.with_name(plain.name + sealed.SUFFIX)
    sealed_here = key is not None and stored.exists()
    compressed = sealed.open_bytes(stored, key) if sealed_here and key else plain.read_bytes()
    return zstandard.ZstdDecompressor().decompress(compressed)


async def restore_account(
    source: Path, address: str, live: Store, settings: Settings, key: bytes | None = None
) -> Restored:
    """Bring one mailbox's folders back from the backup into the live store, as new folders."""
    folder = chosen(source)
    key = _key_for(folder, _manifest(folder), key)
    local = address.strip().lower().split("@")[0]
    owner = await account_id(live.db, local)
    if owner is None:
        raise HopThuError(
            f"Không có hộp thư '{address}' để khôi phục vào", f"No mailbox '{address}' to restore into"
        )
    root = _blob_root(folder)
    stamp = (
        dt.datetime.fromisoformat(_manifest(folder)["created_at"])
        .astimezone(VIETNAM)
        .strftime("%Y-%m-%d %H.%M")
    )
    folders = live.folders
    count = made = 0
    async with _opened(folder, settings, key) as old:
        found = await account_id(old.db, local)
        if found is None:
            raise HopThuError(
                f"Bản sao lưu không có hộp thư '{address}'",
                f"The backup has no mailbox '{address}'",
                code="not_found",
            )
        for box in await old.mail.mailboxes(found):
            rows = await contents.stored_messages(old.db, box.id)
            if not rows:
                continue
            name = f"Khôi phục {stamp}/{box.name}"
            await folders.create(owner, name)
            made += 1
            for row in rows:
                data = (row.prefix or b"") + await asyncio.to_thread(_body, root, row.blob_hash, key)
                # An operator's restore may take the mailbox past its quota (the quota job then tells
                # the owner); stopping halfway would leave a folder half restored.
                target = Target(
                    owner, quota=RESTORE_QUOTA, mailbox=name, flags=row.flags, keywords=row.keywords
                )
                await live.mail.deliver(data, parse(data), [target], internal_date=row.internal_date)
                count += 1
    return Restored(folder, count, folders=made)
