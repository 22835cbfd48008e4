"""R13.7: the readers of archives people kept on their computers (`importing/archives.py`,
`importing/mbox.py`), on well-formed and hostile files: mboxrd quoting, a cut-off mbox, a From line
split across reads, bad dates, 8-bit headers, Maildir flags and folders, Thunderbird and Apple Mail
trees, zip bombs, names climbing out of the archive, huge entries, links, nested zips, non-mail files."""

from __future__ import annotations

import datetime as dt
import random
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from hopthu.importing.archives import read_archive
from hopthu.importing.items import ArchiveRefused, Bounds, Found, Item, Skip
from hopthu.importing.mbox import PIECE

UTC = dt.UTC


def found(items: list[Item]) -> list[Found]:
    return [item for item in items if isinstance(item, Found)]


def skipped(items: list[Item]) -> list[tuple[str, str]]:
    return [(item.where, item.reason) for item in items if isinstance(item, Skip)]


def read(path: Path, bounds: Bounds | None = None, name: str = "") -> list[Item]:
    return list(read_archive(path, bounds or Bounds(), name=name or path.name))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def zip_of(tmp_path: Path, entries: dict[str, bytes], name: str = "thu.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return path


# --- mbox --------------------------------------------------------------------------------------------


def test_r13_7_mboxrd_quoting_dates_and_thunderbird_flags(tmp_path: Path) -> None:
    mbox = (
        b"From ban@example.org Mon Jan  5 08:30:00 2015\n"
        b"From: ban@example.org\nSubject: one\nX-Mozilla-Status: 1007\nX-Mozilla-Keys: $label1 bad(key)\n\n"
        b"line\n>From the quoted line\n>>From twice quoted\n\n"
        b"From - Tue Jan 06 09:00:00 2015\n"
        b"From: b@example.org\nSubject: two\nStatus: RO\nX-Status: AF\n\nFrom now on, no quoting (mboxo).\n\n"
        b"From - Wed Jan 07 10:00:00 2015\n"
        b"Subject: deleted in Thunderbird, not compacted\nX-Mozilla-Status: 0009\n\nx\n"
    )
    items = read(write(tmp_path, "Sent.mbox", mbox))
    one, two = found(items)
    assert one.folder == two.folder == ("Sent",)
    # One > off; the separator's blank line off.
    assert one.data.endswith(b"line\nFrom the quoted line\n>From twice quoted\n")
    assert one.flags == ("\\Seen", "\\Answered", "\\Flagged", "$Forwarded", "$label1")
    assert one.internal_date == dt.datetime(2015, 1, 5, 8, 30, tzinfo=UTC)
    assert two.data.endswith(b"\n\nFrom now on, no quoting (mboxo).\n")  # a body line, not a separator
    assert set(two.flags) == {"\\Seen", "\\Answered", "\\Flagged"}
    assert skipped(items) == [("Sent.mbox#3", "deleted")]


def test_r13_7_a_cut_off_mbox_keeps_its_last_message_as_it_is(tmp_path: Path) -> None:
    mbox = (
        b"From a Mon Jan  5 08:30:00 2015\nSubject: whole\n\nbody\n\n"
        b"From b Mon Jan  5 08:31:00 2015\nSubject: cut\n\nhal"
    )
    first, cut = found(read(write(tmp_path, "Inbox", mbox)))
    assert first.folder == cut.folder == ("Inbox",)
    assert cut.data == b"Subject: cut\n\nhal"


def test_r13_7_crlf_mbox_and_a_from_line_inside_a_long_line(tmp_path: Path) -> None:
    """A line longer than a read's piece whose continuation starts with "From " is not a separator."""
    long = b"x" * (PIECE - 1) + b"\n"  # the piece ends exactly at the line's end
    tricky = b"y" * PIECE + b"From z Mon Jan  5 08:30:00 2015\r\n"  # "From " starts the second piece
    mbox = (
        b"From a Mon Jan  5 08:30:00 2015\r\nSubject: crlf\r\n\r\n" + long + b"\r\n" + tricky + b"end\r\n\r\n"
        b"From b Mon Jan  5 08:31:00 2015\r\nSubject: next\r\n\r\nbody\r\n"
    )
    one, two = found(read(write(tmp_path, "a.mbox", mbox)))
    assert one.data.endswith(tricky + b"end\r\n") and two.data == b"Subject: next\r\n\r\nbody\r\n"


def test_r13_7_bad_dates_fall_back_then_go_unset(tmp_path: Path) -> None:
    mbox = (
        b"From a Xyz Foo 99 99:99:99 2015\nDate: Tue, 3 Mar 2026 10:00:00 +0700\nSubject: a\n\nx\n\n"
        b"From b Mon Jan  5 08:30:00 2999\nDate: not a date at all\nSubject: b\n\nx\n\n"
        b"From c Mon Jan  5 08:30:00 2015 +0700\nSubject: c\n\nx\n"
    )
    a, b, c = found(read(write(tmp_path, "x.mbox", mbox)))
    assert a.internal_date == dt.datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # the Date: header
    assert b.internal_date is None  # a future year and no readable Date: the store's own time
    assert c.internal_date == dt.datetime(2015, 1, 5, 1, 30, tzinfo=UTC)


def test_r13_7_eight_bit_headers_and_garbage_are_kept_or_named(tmp_path: Path) -> None:
    raw = "Subject: Báo cáo tháng\nFrom: Nguyễn <a@b>\n\nnội dung\n".encode() + b"\xff\xfe bytes\n"
    mbox = b"From a Mon Jan  5 08:30:00 2015\n" + raw
    mbox += b"\nFrom b Mon Jan  5 08:30:00 2015\n\x00\x01 not mail\n"
    items = read(write(tmp_path, "x.mbox", mbox))
    (kept,) = found(items)
    assert kept.data == raw  # byte for byte, nothing decoded
    assert skipped(items) == [("x.mbox#2", "not_mail")]


def test_r13_7_a_message_past_the_bound_is_left_out_and_the_next_read(tmp_path: Path) -> None:
    big = b"Subject: big\n\n" + (b"z" * 99 + b"\n") * 200
    mbox = b"From a Mon Jan  5 08:30:00 2015\n" + big
    mbox += b"\nFrom b Mon Jan  5 08:30:00 2015\nSubject: small\n\nx\n"
    items = read(write(tmp_path, "x.mbox", mbox), Bounds(message_max=10_000))
    assert [f.data for f in found(items)] == [b"Subject: small\n\nx\n"]
    assert skipped(items) == [("x.mbox#1", "too_large")]


def test_r13_7_single_eml_and_files_that_are_not_mail(tmp_path: Path) -> None:
    eml = b"Date: Tue, 3 Mar 2026 10:00:00 +0000\nSubject: x\n\nbody\n"
    (one,) = found(read(write(tmp_path, "a.eml", eml)))
    assert one.folder == () and one.internal_date == dt.datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    with pytest.raises(ArchiveRefused):
        read(write(tmp_path, "photo.jpg", b"\xff\xd8\xff\xe0 JFIF"))
    with pytest.raises(ArchiveRefused):
        read(write(tmp_path, "broken.zip", b"PK\x03\x04 then nothing a zip needs"))


# --- zip: Maildir ------------------------------------------------------------------------------------


def test_r13_7_maildir_flags_folders_keywords_and_times(tmp_path: Path) -> None:
    path = zip_of(
        tmp_path,
        {
            "Maildir/cur/1700000000.M1P1.host,S=20:2,FRSa": b"Subject: read\n\nx\n",
            "Maildir/new/1700000100.M2P1.host": b"Subject: unread\n\nx\n",
            "Maildir/.Sent Items.2019/cur/1700000200.M3.host:2,S": b"Subject: sent\n\nx\n",
            "Maildir/.Drafts/cur/1700000300.M4.host;2,D": b"Subject: draft (Windows copy)\n\nx\n",
            "Maildir/cur/1700000400.M5.host:2,ST": b"Subject: trashed\n\nx\n",
            "Maildir/tmp/1700000500.M6.host": b"Subject: half\n\nx\n",
            "Maildir/dovecot-keywords": b"0 $Important\n1 bad(word\n",
            "Maildir/dovecot-uidlist": b"3 V1 N5\n",
            "Maildir/dovecot.index.log": b"\x00\x01",
            "Maildir/.Sent Items.2019/maildirfolder": b"",
        },
    )
    items = read(path)
    by_subject = {f.data.split(b"\n")[0]: f for f in found(items)}
    read_one = by_subject[b"Subject: read"]
    assert read_one.folder == ()
    assert set(read_one.flags) == {"\\Flagged", "\\Answered", "\\Seen", "$Important"}
    assert read_one.internal_date is not None
    assert by_subject[b"Subject: unread"].flags == ()
    assert by_subject[b"Subject: sent"].folder == ("Sent Items", "2019")
    assert by_subject[b"Subject: draft (Windows copy)"].flags == ("\\Draft",)
    assert by_subject[b"Subject: draft (Windows copy)"].folder == ("Drafts",)
    assert sorted(reason for _, reason in skipped(items)) == ["deleted", "unfinished"]


def test_r13_7_maildir_time_prefers_the_zips_utc_time_then_the_name(tmp_path: Path) -> None:
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        stamped = zipfile.ZipInfo("cur/1700000000.M1.host:2,S", (2020, 1, 1, 0, 0, 0))
        stamped.extra = struct.pack("<HHBI", 0x5455, 5, 1, 1_600_000_000)  # Info-ZIP's UTC mtime
        archive.writestr(stamped, b"Subject: a\n\nx\n")
        plain = zipfile.ZipInfo("cur/1700000100.M2.host:2,S", (2020, 1, 1, 0, 0, 0))
        archive.writestr(plain, b"Subject: b\n\nx\n")
    a, b = found(read(path))
    assert a.internal_date == dt.datetime.fromtimestamp(1_600_000_000, UTC)
    assert b.internal_date == dt.datetime.fromtimestamp(1_700_000_100, UTC)


# --- zip: mbox and eml files -------------------------------------------------------------------------


def test_r13_7_thunderbird_and_apple_mail_trees(tmp_path: Path) -> None:
    one = b"From - Mon Jan  5 08:30:00 2015\nSubject: %s\n\nx\n"
    path = zip_of(
        tmp_path,
        {
            "Local Folders/Inbox": one % b"inbox",
            "Local Folders/Inbox.msf": b"// <!-- <mdb:mork:z v=1.4/> -->",
            "Local Folders/Archives.sbd/2019": one % b"archived",
            "Local Folders/Archives.sbd/2019.msf": b"",
            "Local Folders/Bao cao.mbox/mbox": one % b"apple",
            "Local Folders/Bao cao.mbox/Info.plist": b"<plist/>",
        },
    )
    items = read(path)
    assert {f.data.split(b"\n")[0]: f.folder for f in found(items)} == {
        b"Subject: inbox": ("Inbox",),
        b"Subject: archived": ("Archives", "2019"),
        b"Subject: apple": ("Bao cao",),
    }
    assert skipped(items) == []  # indexes and bundle files passed over without a word


def test_r13_7_eml_files_folder_per_directory_and_what_is_not_mail(tmp_path: Path) -> None:
    mail = b"Date: Tue, 3 Mar 2026 10:00:00 +0000\nSubject: x\n\nbody\n"
    path = zip_of(
        tmp_path,
        {
            "Thu cu/a.eml": mail,
            "Thu cu/Du an/b.EML": mail,
            "Thu cu/readme.txt": b"just some notes",
            "Thu cu/letter.msg": b"\xd0\xcf\x11\xe0",
            "Thu cu/inner.zip": b"PK\x05\x06" + b"\x00" * 18,
        },
    )
    items = read(path)
    assert sorted(f.folder for f in found(items)) == [(), ("Du an",)]  # the zipped folder itself is not one
    assert sorted(skipped(items)) == [
        ("Thu cu/inner.zip", "nested_archive"),
        ("Thu cu/letter.msg", "outlook_msg"),
        ("Thu cu/readme.txt", "not_mail"),
    ]


def test_r13_7_names_climbing_out_links_and_encrypted_entries_are_left_out(tmp_path: Path) -> None:
    mail = b"Subject: x\n\nbody\n"
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("../../etc/passwd.eml", "/abs.eml", "C:/win.eml", "a/../../b.eml", "ok/fine.eml"):
            archive.writestr(name, mail)
        link = zipfile.ZipInfo("ok/link.eml")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, b"/etc/shadow")
        locked = zipfile.ZipInfo("ok/locked.eml")
        archive.writestr(locked, mail)
    # Mark the last entry encrypted (bit 0 of the flags) in its local header and the central directory.
    raw = bytearray(path.read_bytes())
    local = raw.find(b"ok/locked.eml")
    central = raw.find(b"ok/locked.eml", local + 1)
    raw[local - 30 + 6] |= 1  # the local header's flags (its name starts 30 bytes in)
    raw[central - 46 + 8] |= 1  # the central directory's (46 bytes in)
    path.write_bytes(bytes(raw))
    items = read(path)
    assert [f.where for f in found(items)] == ["ok/fine.eml"]
    reasons = dict(skipped(items))
    climbing = ("../../etc/passwd.eml", "/abs.eml", "C:/win.eml", "a/../../b.eml")
    assert {reasons[name] for name in climbing} == {"unsafe_name"}
    assert reasons["ok/link.eml"] == "link"
    assert reasons["ok/locked.eml"] == "encrypted"


# --- zip bombs and bounds ----------------------------------------------------------------------------


def test_r13_7_a_zip_declaring_more_than_the_total_is_refused_before_unpacking(tmp_path: Path) -> None:
    path = zip_of(tmp_path, {f"{n}.eml": b"Subject: x\n\n" + b"0" * 100_000 for n in range(5)})
    with pytest.raises(ArchiveRefused) as refused:
        read(path, Bounds(total_max=300_000))
    assert "MB" in refused.value.vi and "MB" in refused.value.en


def test_r13_7_too_many_entries_are_refused(tmp_path: Path) -> None:
    path = zip_of(tmp_path, {f"{n}.eml": b"Subject: x\n\nx\n" for n in range(30)})
    with pytest.raises(ArchiveRefused):
        read(path, Bounds(members_max=20))


def test_r13_7_an_entry_packed_a_thousandfold_is_left_out_unread(tmp_path: Path) -> None:
    bomb = b"Subject: bomb\n\n" + b"\0" * (4 * 1024 * 1024)  # deflates to about 4 KB
    path = zip_of(tmp_path, {"bomb.eml": bomb, "fine.eml": b"Subject: fine\n\nx\n"})
    items = read(path)
    assert [f.where for f in found(items)] == ["fine.eml"]
    assert skipped(items) == [("bomb.eml", "packed_too_much")]


def test_r13_7_an_entry_is_read_no_further_than_it_declared(tmp_path: Path) -> None:
    """The central directory says 30 bytes; the data unpacks to 200 KB: never more than 30 are read,
    and the entry fails its check as damaged."""
    liar = b"Subject: liar\n\n" + b"A" * 200_000
    path = zip_of(tmp_path, {"liar.eml": liar, "fine.eml": b"Subject: ok\n\nx\n"})
    raw = bytearray(path.read_bytes())
    central = raw.find(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 30)  # uncompressed size in the central directory
    path.write_bytes(bytes(raw))
    items = read(path)
    assert [f.where for f in found(items)] == ["fine.eml"]
    assert ("liar.eml", "damaged") in skipped(items)


def test_r13_7_a_zip_of_exactly_the_total_is_read_and_a_huge_entry_left_out(tmp_path: Path) -> None:
    mail = b"Subject: x\n\n" + b"m" * 10_000
    path = zip_of(tmp_path, {f"{n:02d}.eml": mail for n in range(10)})
    assert len(found(read(path, Bounds(total_max=10 * len(mail))))) == 10
    noise = random.Random(7).randbytes(300_000)  # does not deflate: no ratio to catch it by
    entries = {"huge.eml": b"Subject: huge\n\n" + noise, "ok.eml": b"Subject: ok\n\nx\n"}
    path = zip_of(tmp_path, entries, "h.zip")
    items = read(path, Bounds(message_max=100_000))
    assert [f.where for f in found(items)] == ["ok.eml"] and skipped(items) == [("huge.eml", "too_large")]


def test_r13_7_utf8_names_written_without_their_flag_keep_their_vietnamese(tmp_path: Path) -> None:
    """macOS's and Linux's zip tools write UTF-8 names without the flag that says so."""
    path = zip_of(
        tmp_path, {"Thư cũ/Dự án/a.eml": b"Subject: x\n\nbody\n", "Thư cũ/b.eml": b"Subject: y\n\n"}
    )
    raw = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 7), (b"PK\x01\x02", 9)):
        at = raw.find(signature)
        while at != -1:
            raw[at + offset] &= ~0x08  # bit 11 of the flags: "the name is UTF-8"
            at = raw.find(signature, at + 4)
    path.write_bytes(bytes(raw))
    assert all(not info.flag_bits & 0x800 for info in zipfile.ZipFile(path).infolist())
    items = read(path)
    assert sorted(f.folder for f in found(items)) == [(), ("Dự án",)]
    assert sorted(f.where for f in found(items)) == ["Thư cũ/Dự án/a.eml", "Thư cũ/b.eml"]
