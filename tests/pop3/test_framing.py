"""Multi-line POP3 bodies: dot-stuffing (RFC 1939 §3) and TOP's cut (RFC 1939 §7)."""

from __future__ import annotations

import pytest

from hopthu.pop3.framing import listing, stuffed, top


def joined(pieces) -> bytes:
    return b"".join(pieces)


@pytest.mark.parametrize(
    ("data", "wire"),
    [
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b".\r\n", b"..\r\n.\r\n"),
        (b".a\r\n.\r\nb\r\n..c\r\n", b"..a\r\n..\r\nb\r\n...c\r\n.\r\n"),
        (b"x.y\r\n.", b"x.y\r\n..\r\n.\r\n"),
        ("Chào.\r\n.Đây\r\n".encode(), "Chào.\r\n..Đây\r\n.\r\n".encode()),
    ],
)
def test_stuffed(data: bytes, wire: bytes) -> None:
    assert joined(stuffed(data)) == wire


def test_stuffed_in_bounded_pieces() -> None:
    data = b"".join(b".line %d\r\n" % n for n in range(5000)) + b"x" * 100_000 + b"\r\n"
    pieces = list(stuffed(data, chunk=4096))
    assert all(len(p) <= 4096 for p in pieces)
    assert joined(pieces) == data.replace(b"\r\n.", b"\r\n..").replace(b".line 0", b"..line 0", 1) + b".\r\n"


def test_listing() -> None:
    assert joined(listing(["TOP", "UIDL", ".odd"])) == b"TOP\r\nUIDL\r\n..odd\r\n.\r\n"
    assert joined(listing([])) == b".\r\n"


MESSAGE = b"Subject: a\r\nFrom: b\r\n\r\none\r\ntwo\r\n\r\nfour\r\n"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (0, b"Subject: a\r\nFrom: b\r\n\r\n"),
        (1, b"Subject: a\r\nFrom: b\r\n\r\none\r\n"),
        (3, b"Subject: a\r\nFrom: b\r\n\r\none\r\ntwo\r\n\r\n"),
        (4, MESSAGE),
        (1000, MESSAGE),
    ],
)
def test_top(lines: int, expected: bytes) -> None:
    assert top(MESSAGE, lines) == expected


def test_top_edge_cases() -> None:
    assert top(b"Subject: only a header\r\n", 5) == b"Subject: only a header\r\n"
    assert top(b"\r\nbody at once\r\nmore\r\n", 1) == b"\r\nbody at once\r\n"
    assert top(b"Subject: a\r\n\r\nno final line end", 3) == b"Subject: a\r\n\r\nno final line end"
