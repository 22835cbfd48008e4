"""Fixtures for importing over IMAP: a real Dovecot with seeded mailboxes, and how to compare it
with our IMAP server afterwards (every message byte for byte, with its flags and internal date)."""

from __future__ import annotations

import datetime as dt
import imaplib
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hopthu.importing.imapwire import internal_date
from hopthu.importing.sink import our_name
from tests.cli.conftest import cli  # noqa: F401
from tests.importing.dovecot import SPECIAL, Dovecot, available, quoted, remove, temporary_root

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "mime"
OLD_USERS = {"minh.nv": "Old-Pass-1", "anh.ttn": "Old-Pass-2", "lan.pt": "Old-Pass-3"}
FOLDERS = (
    "INBOX",
    "Sent Items",
    "Deleted Items",
    "Junk E-mail",
    "Dự án",
    "Dự án/Năm 2019",
    "Công văn đến/Sở Nội vụ",
    "Lưu & trữ",
)
FLAGS = (
    (),
    ("\\Seen",),
    ("\\Seen", "\\Flagged"),
    ("\\Answered", "$Label1"),
    ("\\Draft",),
    ("\\Seen", "$Forwarded", "$Viec_gap"),
)
ZONE = dt.timezone(dt.timedelta(hours=7))
_serial = itertools.count(1)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not available():
        pytest.skip("dovecot is not installed (Debian package dovecot-imapd)")
    root = temporary_root()
    server = Dovecot(root, dict(OLD_USERS))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        remove(root)


def letter(number: int, size: int = 600, rng: random.Random | None = None) -> bytes:
    """A plain message of about `size` bytes, Vietnamese in its subject and body."""
    rng = rng or random.Random(number)
    words = [
        "công",
        "văn",
        "số",
        "gửi",
        "các",
        "đơn",
        "vị",
        "kính",
        "đề",
        "nghị",
        "báo",
        "cáo",
        "tháng",
        "năm",
    ]
    body_lines = []
    length = 0
    while length < size:
        line = " ".join(rng.choice(words) for _ in range(12))
        body_lines.append(line)
        length += len(line.encode()) + 2
    return (
        f"From: Phòng Hành chính <hanhchinh@soctrang.gov.vn>\r\nTo: minh.nv@soctrang.gov.vn\r\n"
        f"Subject: =?utf-8?b?{_b64(f'Công văn số {number}')}?=\r\n"
        "Date: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
        f"Message-ID: <seed.{number}.{next(_serial)}@soctrang.gov.vn>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "\r\n".join(body_lines)
        + "\r\n"
    ).encode()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def seed(
    server: Dovecot, user: str, count: int, *, size: int = 600, corpus: bool = False, start: int = 0
) -> int:
    """`count` messages spread over `FOLDERS` with flags and dates (and the MIME corpus in a
    folder of its own when `corpus` and it is beside this checkout); how many were appended."""
    appended = 0
    with server.client(user) as client:
        for folder in (*FOLDERS, "Corpus/Mẫu MIME"):
            client.create(quoted(folder))  # NO when it exists: harmless
        for number in range(start, start + count):
            folder = FOLDERS[number % len(FOLDERS)]
            when = dt.datetime(2025, 1, 1, 8, 0, tzinfo=ZONE) + dt.timedelta(hours=number * 7, seconds=number)
            server.append(client, folder, letter(number, size), FLAGS[number % len(FLAGS)], when)
            appended += 1
        if corpus and CORPUS.is_dir():
            for number, path in enumerate(sorted(CORPUS.glob("*.eml"))):
                when = dt.datetime(2024, 6, 1, tzinfo=ZONE) + dt.timedelta(days=number)
                server.append(client, "Corpus/Mẫu MIME", path.read_bytes(), FLAGS[number % len(FLAGS)], when)
                appended += 1
    return appended


def source_messages(server: Dovecot, user: str) -> dict[str, list[tuple[bytes, frozenset[str], dt.datetime]]]:
    """Every message of `user` on Dovecot by our folder name: (BODY[], flags, internal date)."""
    found: dict[str, list[tuple[bytes, frozenset[str], dt.datetime]]] = {}
    with server.client(user) as client:
        typ, listed = client.list('""', "*")
        assert typ == "OK"
        for line in listed:
            attributes, name = _list_line(line)
            if "\\Noselect" in attributes:
                continue
            ours = our_name(name, "/", [a for a in attributes if a in SPECIAL.values()])
            found.setdefault(ours, []).extend(_all(client, quoted(name)))
    return found


def our_messages(client: imaplib.IMAP4) -> dict[str, list[tuple[bytes, frozenset[str], dt.datetime]]]:
    """The same from our IMAP server."""
    found: dict[str, list[tuple[bytes, frozenset[str], dt.datetime]]] = {}
    typ, listed = client.list('""', "*")
    assert typ == "OK"
    for line in listed:
        attributes, name = _list_line(line)
        if "\\Noselect" in attributes:
            continue
        messages = _all(client, quoted(name))
        if messages:
            found[name] = messages
    return found


def _list_line(line: bytes | tuple[bytes, bytes]) -> tuple[list[str], str]:
    from hopthu.imap.mutf7 import decode_mutf7

    text = line.decode() if isinstance(line, bytes) else line[0].decode() + line[1].decode()
    attributes = text[text.index("(") + 1 : text.index(")")].split()
    rest = text[text.index(")") + 2 :]
    name = rest.split(" ", 1)[1]
    if name.startswith('"'):
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return attributes, decode_mutf7(name)


def _all(client: imaplib.IMAP4, folder: str) -> list[tuple[bytes, frozenset[str], dt.datetime]]:
    typ, data = client.select(folder, readonly=True)
    assert typ == "OK", (folder, data)
    if int(data[0]) == 0:
        return []
    typ, data = client.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert typ == "OK"
    messages = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        flags = head[head.index(b"FLAGS (") + 7 : head.index(b")", head.index(b"FLAGS ("))].decode().split()
        date_at = head.index(b'INTERNALDATE "') + 13
        when = internal_date(head[date_at : head.index(b'"', date_at + 1) + 1].strip(b'"'))
        assert when is not None
        messages.append((body, frozenset(f for f in flags if f != "\\Recent"), when))
    return messages


def assert_same(
    source: dict[str, list[tuple[bytes, frozenset[str], dt.datetime]]],
    ours: dict[str, list[tuple[bytes, frozenset[str], dt.datetime]]],
) -> int:
    """Every source message is in our folder of the same name once, byte for byte, with the same
    flags and internal date (as an instant), and ours holds nothing else; the number compared."""
    compared = 0
    for folder in sorted(set(source) | set(ours)):
        theirs = Counter(source.get(folder, []))
        mine = Counter(ours.get(folder, []))
        missing = theirs - mine
        extra = mine - theirs
        assert not missing and not extra, (
            f"{folder}: {sum(missing.values())} missing, {sum(extra.values())} extra or changed "
            f"(source {sum(theirs.values())}, ours {sum(mine.values())})"
        )
        compared += sum(theirs.values())
    return compared
