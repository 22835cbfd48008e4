"""Nothing leaks at rest: the data folder and the backups are the server's account's alone, and a
backup made with a key (R13.5) holds no plaintext of the mail nor of the database, comes back only
with that key, and is refused in clear words when the key is wrong or a byte was changed."""

from __future__ import annotations

import asyncio
import imaplib
import os
import smtplib
import stat
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
import zstandard

from tests.cli.conftest import Cli
from tests.conftest import PG_SERVER, _admin
from tests.hostile.conftest import PASSWORD, Served, client_tls, start_serve


def _loose(root: Path) -> list[str]:
    """Every path under `root` (itself included) that group or others may read, write or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            found.append(f"{path.relative_to(root.parent)} {oct(stat.S_IMODE(mode))}")
    return found


def _send(served: Served, local: str, marker: str) -> None:
    """A message to oneself through submission (TLS, AUTH), with the marker in subject and body."""
    address = f"{local}@cantho.gov.vn"
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = address, address, f"Hồ sơ {marker}"
    mail.set_content(f"Nội dung mật {marker}.\n" + "Dòng thường của công văn.\n" * 50)
    with smtplib.SMTP_SSL("127.0.0.1", served.port("submissions"), context=client_tls(), timeout=30) as s:
        s.login(address, PASSWORD)
        s.send_message(mail)


def _fetch_all(port: int, local: str) -> list[bytes]:
    """Every message of INBOX as stored (BODY.PEEK[]), in UID order."""
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=client_tls(), timeout=30) as imap:
        imap.login(f"{local}@cantho.gov.vn", PASSWORD)
        imap.select("INBOX", readonly=True)
        _, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[])")
        return [part[1] for part in data if isinstance(part, tuple)]


def _wait_for_inbox(port: int, local: str, count: int) -> list[bytes]:
    for _ in range(100):
        found = _fetch_all(port, local)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError("the message did not arrive")


def _holds(path: Path, marker: bytes) -> bool:
    """Whether the file holds the marker as plaintext, read raw or, for a zstd frame, decompressed."""
    raw = path.read_bytes()
    if marker in raw:
        return True
    if raw.startswith(b"\x28\xb5\x2f\xfd"):
        try:
            return marker in zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 26)
        except zstandard.ZstdError:
            return False
    return False


@pytest.fixture
def empty_target(database_url: str) -> Iterator[str]:
    """Where a restore goes: nothing for SQLite (the new data folder), an empty database for PostgreSQL."""
    if database_url.startswith("sqlite"):
        yield ""
        return
    name = f"hopthu_test_at_rest_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"{PG_SERVER}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _restore(cli: Cli, source: Path, target: str, *extra: str, env: dict[str, str] | None = None):
    more = ("--database-url", target) if target else ()
    return cli("restore", str(source), *more, *extra, env=env)


def test_data_folder_and_backups_are_private_and_sealed(
    start, tmp_path: Path, database_url: str, empty_target: str
) -> None:
    cli = Cli(tmp_path / "data", database_url)
    cli.init()
    # A folder from before the rule: loose modes are tightened when the server starts.
    os.chmod(cli.data, 0o755)
    os.chmod(cli.data / "hopthu.toml", 0o644)
    if (cli.data / "hopthu.db").exists():
        os.chmod(cli.data / "hopthu.db", 0o644)
    served = start()
    local = served.account()
    marker = f"BIMAT-{uuid.uuid4().hex[:12]}"
    _send(served, local, marker)
    before = _wait_for_inbox(served.port("imaps"), local, 1)
    assert marker.encode() in before[0]

    key = tmp_path / "khoa" / "backup.key"
    key.parent.mkdir(mode=0o700)
    key.write_bytes(os.urandom(32))
    keyed = {"HOPTHU_BACKUP_KEY_FILE": str(key)}
    plain_dest, sealed_dest = tmp_path / "sao-luu-tho", tmp_path / "sao-luu-kin"

    plain = served.cli("backup", str(plain_dest))
    assert plain.code == 0, plain.err
    assert "NOT encrypted" in plain.err and "KHÔNG được mã hóa" in plain.err
    made = served.cli("backup", str(sealed_dest), "--json", env=keyed)
    assert made.code == 0, made.err
    assert made.json()["encrypted"] is True and "NOT encrypted" not in made.err

    # Nothing the server or a backup wrote is open to group or others (the server still runs, so
    # SQLite's -wal and -shm files are there too).
    assert _loose(cli.data) == []
    assert _loose(plain_dest) == [] and _loose(sealed_dest) == []

    # The marker is plain in the unencrypted backup (the check can see it) and nowhere in the sealed one.
    assert any(_holds(p, marker.encode()) for p in plain_dest.rglob("*") if p.is_file())
    sealed_files = [p for p in sealed_dest.rglob("*") if p.is_file()]
    assert [p for p in sealed_files if _holds(p, marker.encode())] == []
    assert not [p for p in sealed_files if p.read_bytes().startswith(b"SQLite format 3")]
    secret = (cli.data / "keys" / "secret.key").read_bytes()
    assert [p for p in sealed_files if secret in p.read_bytes()] == []
    assert [p for p in sealed_files if key.read_bytes() in p.read_bytes()] == []  # never its own key

    # Without the key, with another key, or with one byte changed: refused, in both languages.
    target = tmp_path / "khoi-phuc"
    restorer = Cli(target, empty_target or database_url)
    refused = _restore(restorer, sealed_dest, empty_target)
    assert refused.code != 0 and "encrypted" in refused.err and "mã hóa" in refused.err
    other = tmp_path / "khoa" / "khac.key"
    other.write_bytes(os.urandom(32))
    wrong = _restore(restorer, sealed_dest, empty_target, "--key-file", str(other))
    assert wrong.code != 0 and "Wrong backup key" in wrong.err and "Sai khóa sao lưu" in wrong.err
    body = next(p for p in (sealed_dest / "blobs").rglob("*.sealed"))
    original = body.read_bytes()
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    body.write_bytes(bytes(changed))
    tampered = _restore(restorer, sealed_dest, empty_target, env=keyed)
    assert tampered.code != 0 and "damaged or was altered" in tampered.err and "bị sửa" in tampered.err
    assert "Traceback" not in tampered.err
    body.write_bytes(original)

    # With the key: the message reads back byte for byte from a server on the restored folder.
    restored = _restore(restorer, sealed_dest, empty_target, env=keyed)
    assert restored.code == 0, restored.err
    assert _loose(target) == []
    process, urls = start_serve(restorer)
    try:
        port = int(urls["imaps"].rsplit(":", 1)[1].strip("/"))
        assert _fetch_all(port, local) == before
    finally:
        process.terminate()
        process.wait(timeout=20)
    assert served.alive()
