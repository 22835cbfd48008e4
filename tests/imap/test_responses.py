"""The serialiser's table: response values and the bytes they become on the wire (RFC 9051 §7)."""

from __future__ import annotations

import pytest

from hopthu.imap import responses as r
from hopthu.imap.responses import Code, ImapRefusal, Status


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (Status("OK", "NOOP hoan tat / completed").line("A1"), b"A1 OK NOOP hoan tat / completed\r\n"),
        (
            Status("NO", "Khong co / No mailbox", Code.NONEXISTENT).line("a"),
            b"a NO [NONEXISTENT] Khong co / No mailbox\r\n",
        ),
        (bytes(r.TOO_MANY_BAD), b"* BYE Qua nhieu lenh sai / Too many bad commands\r\n"),
        (
            bytes(r.TOO_BIG_BEFORE_LOGIN),
            b"* BYE [LIMIT] Lenh qua lon truoc khi dang nhap / Command too large before login, closing\r\n",
        ),
        (
            bytes(r.greeting("IMAP4rev1 IDLE")),
            b"* OK [CAPABILITY IMAP4rev1 IDLE] Hop Thu IMAP san sang / ready\r\n",
        ),
        (r.too_big("line too long").line("b"), b"b NO [TOOBIG] Qua lon / line too long\r\n"),
        (r.syntax_error("expected SP").line("*"), b"* BAD Cu phap sai / expected SP\r\n"),
        (
            r.server_bug("ab12").line("c"),
            b"c NO [SERVERBUG] Loi may chu, ma ab12 / Server error, id ab12\r\n",
        ),
        (
            ImapRefusal("Thư mục chỉ đọc", "read-only", Code.READ_ONLY).line("d"),
            b"d NO [READ-ONLY] Thu muc chi doc / read-only\r\n",
        ),
        (r.fetch(3, [b"UID 9", b"FLAGS (\\Seen)"]), b"* 3 FETCH (UID 9 FLAGS (\\Seen))\r\n"),
        (r.fetch_until_literal(2, [b"UID 5"], b"BODY[]", 42), b"* 2 FETCH (UID 5 BODY[] {42}\r\n"),
        (r.fetch_until_literal(2, [], b"RFC822", 0), b"* 2 FETCH (RFC822 {0}\r\n"),
        (r.exists(0), b"* 0 EXISTS\r\n"),
        (r.expunge(7), b"* 7 EXPUNGE\r\n"),
        (r.literal(b"ab\0c"), b"{4}\r\nab\0c"),
        (r.literal(b"ab\0c", binary=True), b"~{4}\r\nab\0c"),  # RFC 3516 §4.3 literal8
        (r.literal(b"abc", binary=True), b"{3}\r\nabc"),
        (r.sequence_set([1, 2, 3, 7, 9, 10]), b"1:3,7,9:10"),
    ],
)
def test_wire_form(value: bytes, wire: bytes) -> None:
    assert value == wire


def test_response_text_is_seven_bit() -> None:
    # IMAP4rev1 response text is ASCII: Vietnamese goes without its diacritics, anything else as "?"
    assert (
        ImapRefusal("Đã dùng TLS", "TLS is already active").line("t")
        == b"t NO Da dung TLS / TLS is already active\r\n"
    )
    assert Status("NO", "tên ⚠").line("t") == b"t NO t?n ?\r\n"


def test_codes_are_their_wire_names() -> None:
    assert f"[{Code.READ_WRITE}]" == "[READ-WRITE]"
    assert all(code.value == code.name.replace("_", "-") for code in Code)
