"""IMAP wire forms from stored values: quoting tables, ENVELOPE, BODYSTRUCTURE, section ranges."""

from __future__ import annotations

import pytest

from hopthu.mail import bodystructure_imap, canonical, envelope_imap, find_part, parse, section_range
from hopthu.mail.imapview import nstring, nstring_nolf, string_for_humans


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (None, b"NIL"),
        (b"", b'""'),
        (b"plain text", b'"plain text"'),
        (b'say "hi"', b'"say \\"hi\\""'),
        (b'\\"\\"', b'"\\\\\\"\\\\\\""'),  # four specials: still quoted
        (b'\\"\\""', b'{5}\r\n\\"\\""'),  # the fifth makes a literal
        ("Công văn".encode(), b"{10}\r\n" + "Công văn".encode()),  # 8-bit: literal
        (b"two\r\nlines", b"{10}\r\ntwo\r\nlines"),
    ],
)
def test_nstring(value: bytes | None, wire: bytes) -> None:
    assert nstring(value) == wire


def test_nstring_nolf_keeps_words_apart() -> None:
    assert nstring_nolf(b"Thu,\n      13\nFeb") == b'"Thu,      13 Feb"'
    assert nstring_nolf(b"<a@b>") == b'"<a@b>"'


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (b"Simple subject", b'"Simple subject"'),
        (b"  folded\n\tsubject  ", b"{14}\r\nfolded subject"),
        (b"   ", b'""'),
        (b'with "quotes"', b'{13}\r\nwith "quotes"'),
        ("Báo cáo".encode(), b"{9}\r\n" + "Báo cáo".encode()),
    ],
)
def test_string_for_humans(value: bytes, wire: bytes) -> None:
    assert string_for_humans(value) == wire


MESSAGE = canonical(
    b"From: =?UTF-8?B?Tmd1eeG7hW4gVsSDbiBNaW5o?= <minh.nv@cantho.gov.vn>\r\n"
    b"To: Team: a@x.vn, b@y.vn;, c@z.vn\r\n"
    b"Subject: =?UTF-8?Q?C=C3=B4ng_v=C4=83n?=\r\n"
    b"Date: Mon, 03 Mar 2025 09:15:00 +0700\r\n"
    b"Message-ID: <m1@cantho.gov.vn>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="out"\r\n\r\n'
    b"--out\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nXin ch\xc3\xa0o\r\n"
    b"--out\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: x@y.vn\r\nSubject: inner\r\n\r\ninner body\r\n"
    b"--out--\r\n"
)


def test_envelope_from_stored_json() -> None:
    parsed = parse(MESSAGE)
    assert envelope_imap(parsed.envelope) == (
        b'("Mon, 03 Mar 2025 09:15:00 +0700" "=?UTF-8?Q?C=C3=B4ng_v=C4=83n?=" '
        b'(("=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBNaW5o?=" NIL "minh.nv" "cantho.gov.vn")) '
        b'(("=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBNaW5o?=" NIL "minh.nv" "cantho.gov.vn")) '
        b'(("=?UTF-8?B?Tmd1eeG7hW4gVsSDbiBNaW5o?=" NIL "minh.nv" "cantho.gov.vn")) '
        b'((NIL NIL "Team" NIL)(NIL NIL "a" "x.vn")(NIL NIL "b" "y.vn")(NIL NIL NIL NIL)'
        b'(NIL NIL "c" "z.vn")) NIL NIL NIL "<m1@cantho.gov.vn>")'
    )
    assert parsed.envelope["from"][0][4] == "Nguyễn Văn Minh"
    assert parsed.envelope["subject_text"] == "Công văn"


def test_body_and_bodystructure() -> None:
    parsed = parse(MESSAGE)
    body = bodystructure_imap(parsed.structure, extensible=False)
    assert body == (
        b'(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 9 0)'
        b'("message" "rfc822" NIL NIL NIL "7bit" 42 (NIL "inner" ((NIL NIL "x" "y.vn")) '
        b'((NIL NIL "x" "y.vn")) ((NIL NIL "x" "y.vn")) NIL NIL NIL NIL NIL) '
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0) 3) "mixed")'
    )
    assert bodystructure_imap(parsed.structure).endswith(b' "mixed" ("boundary" "out") NIL NIL NIL)')


def test_sections_are_slices() -> None:
    parsed = parse(MESSAGE)
    s = parsed.structure

    def get(section: str) -> bytes:
        span = section_range(s, section)
        assert span is not None
        return MESSAGE[span[0] : span[1]]

    assert get("") == MESSAGE
    assert get("HEADER") == MESSAGE[: parsed.header_end]
    assert get("1") == "Xin chào".encode()
    assert get("1.MIME") == b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    assert get("2.HEADER") == b"From: x@y.vn\r\nSubject: inner\r\n\r\n"
    assert get("2.text") == get("2.1") == b"inner body"
    assert get("2.1.MIME") == get("2.HEADER")
    assert get("2.MIME") == b"Content-Type: message/rfc822\r\n\r\n"
    assert section_range(s, "3") is None
    assert section_range(s, "1.HEADER") is None  # HEADER only exists for message/rfc822 parts
    assert section_range(s, "MIME") is None
    assert section_range(s, "1.") is None and section_range(s, "²") is None
    assert find_part(s, "2.1") is s["parts"][1]["parts"][0]


def test_non_multipart_message_is_part_one() -> None:
    data = canonical(b"Subject: x\r\n\r\nbody\r\n")
    s = parse(data).structure
    assert section_range(s, "1") == section_range(s, "TEXT") == (14, 20)
    assert section_range(s, "1.MIME") == (0, 14)
    assert section_range(s, "2") is None
    assert bodystructure_imap(s) == (
        b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL)'
    )
