"""R13.7: an archive imported into a mailbox (`importing/archiveimport.py`) on both backends: the quota
checked before anything is stored, a quota reached half-way said and stopped, one folder for all
when asked, one webmail import per person at a time (`store/archiveimports.py`); and over real IMAP
(imaplib against a served server) every message there byte for byte, with its flags and its date."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from hopthu.importing import archiveimport
from hopthu.importing.archiveimport import NoRoom, Progress, import_archive
from hopthu.importing.items import Bounds
from hopthu.importing.sink import MailboxSink
from hopthu.mail import canonical, parse
from hopthu.store import Store, archiveimports
from hopthu.store.types import Target
from tests.factories import make_account, make_message
from tests.imap.conftest import RunningServer, imapserver, resolver, server_settings  # noqa: F401

NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def mbox_of(messages: list[bytes]) -> bytes:
    """An mboxrd file as Thunderbird writes one: LF line ends, body From lines quoted."""
    out = b""
    for n, data in enumerate(messages):
        lines = data.replace(b"\r\n", b"\n").split(b"\n")
        quoted = b"\n".join(b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines)
        out += f"From - Mon Jan  {n + 1} 08:00:00 2024\n".encode() + quoted + b"\n"
    return out


def test_r13_7_an_archive_over_imap_byte_for_byte_with_flags_and_dates(
    imapserver: RunningServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A zip holding a Maildir (Inbox, Maildir++ Sent Items/2019) and a Thunderbird mbox (Dự án):
    each message reads back over IMAP as it was in the file (line ends made CRLF), in our folder for
    it, with its flags and the time the file gave it."""
    body_from = make_message("Dòng From trong thân").replace(
        b"\r\n\r\n", b"\r\n\r\nFrom here on\r\n>From x\r\n", 1
    )
    read_in_inbox = make_message("Đã đọc", size=3000)
    sent = make_message("Đã gửi năm 2019")
    archived = [make_message("Lưu trữ một"), body_from]
    path = tmp_path / "thu-cu.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Maildir/cur/1700000000.M1.host,S=3000:2,SF", read_in_inbox.replace(b"\r\n", b"\n"))
        archive.writestr("Maildir/.Sent Items.2019/cur/1600000000.M2.host:2,RS", sent)
        archive.writestr("Thunderbird/Dự án", mbox_of(archived))
        archive.writestr("Thunderbird/Dự án.msf", b"index")
    sink = MailboxSink(imapserver.services.store, imapserver.account_id("nvminh"))
    result = imapserver.run(import_archive(sink, path, bounds=Bounds(), name=path.name))
    assert result.stopped is None and result.imported == 4 and not result.skipped
    assert {name: t.imported for name, t in result.folders.items()} == {
        "INBOX": 1,
        "Sent/2019": 1,
        "Dự án": 2,
    }

    client = imapserver.login("nvminh")
    try:
        expected = {
            "INBOX": [
                (read_in_inbox, {"\\Seen", "\\Flagged"}, dt.datetime.fromtimestamp(1_700_000_000, dt.UTC))
            ],
            "Sent/2019": [(sent, {"\\Seen", "\\Answered"}, dt.datetime.fromtimestamp(1_600_000_000, dt.UTC))],
            "Dự án": [
                (archived[0], set(), dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)),
                (archived[1], set(), dt.datetime(2024, 1, 2, 8, 0, tzinfo=dt.UTC)),
            ],
        }
        for folder, messages in expected.items():
            status, _ = client.select(_mailbox_name(folder), readonly=True)
            assert status == "OK", folder
            status, data = client.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
            fetched = [part for part in data if isinstance(part, tuple)]
            assert len(fetched) == len(messages), folder
            for (head, body), (source, flags, arrived) in zip(fetched, messages, strict=True):
                assert body == canonical(source.replace(b"\r\n", b"\n")), folder
                shown = set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split())
                assert shown - {"\\Recent"} == flags, folder
                internal = re.search(rb'INTERNALDATE "([^"]+)"', head).group(1).decode()
                assert dt.datetime.strptime(internal, "%d-%b-%Y %H:%M:%S %z") == arrived, folder
    finally:
        client.logout()


def _mailbox_name(name: str) -> str:
    """A mailbox name as imaplib sends it: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    import base64

    out, run = [], []
    for ch in name:
        if 0x20 <= ord(ch) < 0x7F:
            if run:
                raw = "".join(run).encode("utf-16-be")
                out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
                run = []
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    if run:
        raw = "".join(run).encode("utf-16-be")
        out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
    return '"' + "".join(out) + '"'


async def test_r13_7_the_quota_is_checked_before_anything_is_stored(store: Store, tmp_path: Path) -> None:
    account_id = await make_account(store, "nvminh", quota=20_000)
    path = tmp_path / "big.mbox"
    path.write_bytes(mbox_of([make_message(f"Thư {n}", size=3_000) for n in range(10)]))
    with pytest.raises(NoRoom) as refused:
        await import_archive(MailboxSink(store, account_id), path, bounds=Bounds(), name=path.name)
    assert "10 thư" in refused.value.vi and "10 messages" in refused.value.en
    assert await store.mail.usage(account_id) == (0, 0)  # nothing stored


async def test_r13_7_a_quota_reached_half_way_stops_and_says_so(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other mail arrives while the import runs and fills the mailbox: the import stops there, what
    it stored stays, and the result says why the rest is missing."""
    monkeypatch.setattr(archiveimport, "BATCH_MESSAGES", 1)  # stored one by one: something arrives between
    account_id = await make_account(store, "nvminh", quota=40_000)
    path = tmp_path / "thu.mbox"
    path.write_bytes(mbox_of([make_message(f"Thư {n}", size=3_000) for n in range(5)]))
    arriving = canonical(make_message("Thư mới đến", size=30_000))

    async def meanwhile(progress: Progress) -> None:
        if progress.done == 1:
            await store.mail.deliver(arriving, parse(arriving), [Target(account_id, 40_000, "INBOX")])

    result = await import_archive(
        MailboxSink(store, account_id), path, bounds=Bounds(), name=path.name, progress=meanwhile
    )
    assert result.stopped is not None and "đầy" in result.stopped.vi and "full" in result.stopped.en
    assert 1 <= result.imported < 5
    assert result.folders["thu"].imported == result.imported


async def test_r13_7_everything_into_one_folder_when_asked(store: Store, tmp_path: Path) -> None:
    account_id = await make_account(store, "nvminh")
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x/Sent/a.eml", make_message("a"))
        archive.writestr("x/Drafts/b.eml", make_message("b"))
    result = await import_archive(
        MailboxSink(store, account_id), path, bounds=Bounds(), name=path.name, into="Thư cũ/2020"
    )
    assert {name: t.imported for name, t in result.folders.items()} == {"Thư cũ/2020": 2}
    assert (await store.mail.mailbox(account_id, "Thư cũ/2020")).message_count == 2


async def test_r13_7_one_webmail_import_per_person_at_a_time(store: Store) -> None:
    account_id = await make_account(store, "nvminh")
    db = store.db
    assert await archiveimports.claim(db, account_id, "a.zip", NOW)
    assert not await archiveimports.claim(db, account_id, "b.zip", NOW + dt.timedelta(minutes=1))
    await archiveimports.progressed(db, account_id, done=3, total=10, now=NOW + dt.timedelta(minutes=1))
    stalled = NOW + dt.timedelta(minutes=1) + archiveimports.STALLED + dt.timedelta(seconds=1)
    assert (await archiveimports.latest(db, account_id, stalled)).state == "stalled"
    assert await archiveimports.claim(db, account_id, "b.zip", stalled)  # the stalled one is over
    await archiveimports.finished(db, account_id, summary={"folders": {}}, error=None, now=stalled)
    done = await archiveimports.latest(db, account_id, stalled)
    assert (done.state, done.file_name, done.done) == ("done", "b.zip", 0)
    assert await archiveimports.claim(db, account_id, "c.zip", stalled)
