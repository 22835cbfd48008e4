"""Backup and restore (R9.2) on both backends: a backup taken while deliveries go on holds every
message acknowledged before it began, byte for byte, once restored into a new data folder; a second
backup copies only the new bodies; one mailbox is brought back into the running store."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest

from hopthu.backup.restore import restore_account, restore_installation
from hopthu.backup.snapshot import backup, backups, prune
from hopthu.config import Settings, load_settings
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.mail import canonical, parse
from hopthu.store import Store
from hopthu.store.mailstore import Target
from tests.conftest import PG_SERVER, _admin
from tests.factories import make_message


async def deliver(store: Store, account_id: int, n: int) -> tuple[int, int, bytes]:
    data = canonical(make_message(f"Công văn số {n}", f"Nội dung {n}. " * (n % 7 + 1)))
    (done,) = await store.mail.deliver(data, parse(data), [Target(account_id, quota=10**10)])
    return done.mailbox_id, done.uid, data


@pytest.fixture
async def target_url(settings: Settings):
    """Where a restore goes: the data folder for SQLite, an empty database for PostgreSQL."""
    if not settings.database_url.startswith("postgresql"):
        yield ""
        return
    name = f"hopthu_test_restore_{os.getpid()}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{name}"')
    yield f"{PG_SERVER}/{name}"
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_backup_during_deliveries_restores_every_acknowledged_message(
    directory: Directory, settings: Settings, tmp_path: Path, target_url: str
) -> None:
    store = directory.ctx.store
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    owner = (await directory.accounts.get("nvminh")).id
    acknowledged = [await deliver(store, owner, n) for n in range(40)]
    stop = asyncio.Event()

    async def keep_delivering() -> None:
        n = 1000
        while not stop.is_set():
            acknowledged.append(await deliver(store, owner, n))
            n += 1

    going = asyncio.create_task(keep_delivering())
    await asyncio.sleep(0.05)
    before = list(acknowledged)  # acknowledged before the backup began
    dest = tmp_path / "sao-luu"
    made = await backup(settings, dest, now=dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC))
    stop.set()
    await going
    assert made.blobs_copied == made.blobs_total >= len(before)

    restored = tmp_path / "khoi-phuc"
    done = await restore_installation(dest, restored, database_url=target_url)
    assert done.messages >= len(before)
    again = await Store.open(load_settings(restored))
    try:
        for mailbox_id, uid, data in before:
            assert await again.mail.message_bytes(mailbox_id, uid) == data
    finally:
        await again.close()
    with pytest.raises(HopThuError):  # never over a folder in use
        await restore_installation(dest, restored, database_url=target_url)

    more = [await deliver(store, owner, n) for n in range(5000, 5003)]
    second = await backup(settings, dest, now=dt.datetime(2026, 12, 2, 1, tzinfo=dt.UTC))
    assert second.blobs_copied == second.blobs_total - made.blobs_total >= len(more)  # only what is new
    assert [b.name for b in backups(dest)] == ["20261201T010000Z", "20261202T010000Z"]
    assert prune(dest, keep=1) == 1 and [b.name for b in backups(dest)] == ["20261202T010000Z"]


async def test_one_mailbox_comes_back_as_restored_folders(
    directory: Directory, settings: Settings, tmp_path: Path
) -> None:
    store = directory.ctx.store
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    owner = (await directory.accounts.get("nvminh")).id
    kept = [await deliver(store, owner, n) for n in range(6)]
    dest = tmp_path / "sao-luu"
    await backup(settings, dest, now=dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC))
    inbox = kept[0][0]
    await store.mail.expunge(inbox, [uid for _, uid, _ in kept])  # lost by mistake

    done = await restore_account(dest, "nvminh@cantho.gov.vn", store, settings)
    assert (done.messages, done.folders) == (6, 1)
    restored = {b.name: b for b in await store.mail.mailboxes(owner) if b.name.startswith("Khôi phục")}
    assert sorted(restored) == ["Khôi phục 2026-12-01 08.00", "Khôi phục 2026-12-01 08.00/INBOX"]
    folder = restored["Khôi phục 2026-12-01 08.00/INBOX"]
    back = await store.mail.messages(folder.id, order="oldest", limit=10)
    assert [await store.mail.message_bytes(folder.id, m.uid) for m in back] == [data for _, _, data in kept]
    with pytest.raises(HopThuError):
        await restore_account(dest, "khongco@cantho.gov.vn", store, settings)


async def test_sealed_backups_stay_incremental_and_open_only_with_their_key(
    directory: Directory, settings: Settings, tmp_path: Path, tmp_path_factory, target_url: str
) -> None:
    store = directory.ctx.store
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    owner = (await directory.accounts.get("nvminh")).id
    kept = [await deliver(store, owner, n) for n in range(4)]
    key_file = tmp_path_factory.mktemp("khoa") / "backup.key"
    key_file.write_bytes(os.urandom(32))
    keyed = replace(settings, backup=replace(settings.backup, key_file=str(key_file)))
    inside = settings.data_dir / "backup.key"
    with pytest.raises(HopThuError, match="outside the data folder"):
        await backup(
            replace(settings, backup=replace(settings.backup, key_file=str(inside.resolve()))),
            tmp_path / "x",
            now=dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC),
        )

    dest = tmp_path / "sao-luu"
    first = await backup(keyed, dest, now=dt.datetime(2026, 12, 1, 1, tzinfo=dt.UTC))
    assert first.sealed and first.blobs_copied == first.blobs_total >= 4
    stored = [p for p in dest.rglob("*") if p.is_file() and p.name != "manifest.json"]
    assert stored and all(p.name.endswith(".sealed") for p in stored)
    kept += [await deliver(store, owner, n) for n in range(10, 12)]
    second = await backup(keyed, dest, now=dt.datetime(2026, 12, 2, 1, tzinfo=dt.UTC))
    assert second.blobs_copied == second.blobs_total - first.blobs_total == 2  # only the new bodies

    with pytest.raises(HopThuError, match="is encrypted: give its key"):
        await restore_account(dest, "nvminh", store, settings)
    with pytest.raises(HopThuError, match="Wrong backup key"):
        await restore_account(dest, "nvminh", store, settings, key=bytes(32))
    done = await restore_account(dest, "nvminh", store, settings, key=key_file.read_bytes())
    assert done.messages == 6

    restored = tmp_path / "khoi-phuc"
    with pytest.raises(HopThuError, match="encrypted"):
        await restore_installation(dest, restored, database_url=target_url)
    back = await restore_installation(dest, restored, database_url=target_url, key=key_file.read_bytes())
    assert back.messages >= 6
    again = await Store.open(load_settings(restored))
    try:
        for mailbox_id, uid, data in kept:
            assert await again.mail.message_bytes(mailbox_id, uid) == data
    finally:
        await again.close()
