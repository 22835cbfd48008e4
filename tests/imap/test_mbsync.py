"""Debian's mbsync (isync) as a real IMAP client: a full two-way sync of a 500-message INBOX over
STARTTLS, local flag changes and deletions pushed to the server (Expunge Both), server-side changes
pulled back. Skipped where mbsync is not installed (`apt-get install isync`)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hopthu.mail import canonical, parse
from hopthu.store.mailstore import Target
from tests.imap.conftest import RunningServer, message
from tests.smtp.conftest import PASSWORD

MESSAGES = 500
FLAGGED = 20
DELETED = 10
# mbsync keeps the server's UID in the Maildir file name (",U=<uid>"), then ":2,<flags>" once in cur/.
_NAME = re.compile(r"^(?P<base>.*?,U=(?P<uid>\d+))(?::2,(?P<flags>[A-Za-z]*))?$")


def _mbsync_version() -> tuple[int, ...]:
    answer = subprocess.run(["mbsync", "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", answer)
    assert found, answer
    return tuple(int(part or 0) for part in found.groups())


def _rc(imapserver: RunningServer, folder: Path) -> Path:
    settings = imapserver.server.settings
    cert = settings.path(settings.server.tls_cert).resolve()
    # isync 1.5 renamed SSLType to TLSType; 1.4 (Debian 12) knows only the old name.
    tls_key = "TLSType" if _mbsync_version() >= (1, 5) else "SSLType"
    (folder / "Mail").mkdir()  # mbsync creates mailboxes (Create Both), not the store's root
    rc = folder / "mbsyncrc"
    rc.write_text(
        f"IMAPAccount hopthu\n"
        f"Host 127.0.0.1\n"
        f"Port {imapserver.port('imap')}\n"
        f"User nvminh\n"
        f'Pass "{PASSWORD}"\n'
        f"{tls_key} STARTTLS\n"
        # The development certificate names localhost and 127.0.0.1 too, so hostname checks pass;
        # a self-signed "Host" certificate given here is trusted as the server's own.
        f"CertificateFile {cert}\n"
        f"SystemCertificates no\n"
        f"Timeout 60\n"
        f"\n"
        f"IMAPStore hopthu-far\n"
        f"Account hopthu\n"
        f"\n"
        f"MaildirStore hopthu-near\n"
        f"Path {folder / 'Mail'}/\n"
        f"Inbox {folder / 'Mail' / 'INBOX'}\n"
        f"SubFolders Verbatim\n"
        f"\n"
        f"Channel hopthu\n"
        f"Far :hopthu-far:\n"
        f"Near :hopthu-near:\n"
        f"Patterns INBOX\n"
        f"Create Both\n"
        f"Expunge Both\n"
        f"SyncState *\n"
    )
    return rc


def _sync(rc: Path) -> None:
    done = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"mbsync failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"


def _local(inbox: Path) -> dict[int, tuple[Path, str]]:
    """The synced messages by server UID: (file, Maildir flags)."""
    found: dict[int, tuple[Path, str]] = {}
    for sub in ("cur", "new"):
        for path in (inbox / sub).iterdir():
            match = _NAME.match(path.name)
            assert match, path.name
            found[int(match["uid"])] = (path, match["flags"] or "")
    return found


async def _deliver_many(imapserver: RunningServer, account_id: int, count: int) -> None:
    mail = imapserver.services.store.mail

    async def one(number: int) -> None:
        data = canonical(message(subject=f"Công văn số {number}", body=f"Nội dung văn bản {number}."))
        (delivered,) = await mail.deliver(data, parse(data), [Target(account_id, 10**10, "INBOX", 0)])
        assert delivered.uid is not None, delivered

    await asyncio.gather(*(one(n) for n in range(count)))


def _flags(response: bytes) -> set[str]:
    found = re.search(rb"FLAGS \(([^)]*)\)", response)
    assert found, response
    return set(found.group(1).decode().split())


def _server_state(imapserver: RunningServer) -> dict[int, set[str]]:
    client = imapserver.login()
    try:
        typ, _ = client.select("INBOX", readonly=True)
        assert typ == "OK"
        typ, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
        assert typ == "OK", data
        state = {}
        for line in data:
            if not isinstance(line, bytes):
                continue
            uid = re.search(rb"UID (\d+)", line)
            assert uid, line
            state[int(uid.group(1))] = _flags(line)
        return state
    finally:
        client.logout()


def test_mbsync_two_way(imapserver: RunningServer, tmp_path: Path) -> None:
    if shutil.which("mbsync") is None:
        pytest.skip("mbsync is not installed (Debian package isync)")
    rc = _rc(imapserver, tmp_path)
    inbox = tmp_path / "Mail" / "INBOX"
    account_id = imapserver.account_id("nvminh")
    imapserver.run(_deliver_many(imapserver, account_id, MESSAGES))

    # 1. The first sync creates the Maildir and brings every message down.
    _sync(rc)
    local = _local(inbox)
    assert len(local) == MESSAGES
    assert all("S" not in flags for _path, flags in local.values())

    # 2. Local changes: 20 messages read and flagged, 10 deleted.
    uids = sorted(local)
    flagged, deleted = uids[:FLAGGED], uids[FLAGGED : FLAGGED + DELETED]
    for uid in flagged:
        path, flags = local[uid]
        base = _NAME.match(path.name)["base"]
        path.rename(inbox / "cur" / f"{base}:2,{''.join(sorted(set(flags) | {'F', 'S'}))}")
    for uid in deleted:
        local[uid][0].unlink()
    _sync(rc)

    server = _server_state(imapserver)
    assert len(server) == MESSAGES - DELETED
    assert not set(deleted) & set(server)
    for uid in flagged:
        assert {"\\Seen", "\\Flagged"} <= server[uid], (uid, server[uid])
    untouched = [uid for uid in uids if uid not in flagged and uid not in deleted]
    assert all(not server[uid] & {"\\Seen", "\\Flagged", "\\Deleted"} for uid in untouched)
    assert len(_local(inbox)) == MESSAGES - DELETED

    # 3. Server-side changes: a new message, and \Seen set by another client's STORE.
    new_uid = imapserver.deliver("nvminh", message(subject="Thư mới", body="Gửi sau lần đồng bộ."))
    read_there = untouched[0]
    client = imapserver.login()
    try:
        client.select("INBOX")
        typ, data = client.uid("STORE", str(read_there), "+FLAGS.SILENT", "(\\Seen)")
        assert typ == "OK", data
    finally:
        client.logout()
    _sync(rc)

    local = _local(inbox)
    assert len(local) == MESSAGES - DELETED + 1
    assert new_uid in local
    assert "Gửi sau lần đồng bộ.".encode() in local[new_uid][0].read_bytes()
    assert "S" in local[read_there][1]
    for uid in flagged:
        assert {"F", "S"} <= set(local[uid][1]), (uid, local[uid])
    assert len(_server_state(imapserver)) == MESSAGES - DELETED + 1
