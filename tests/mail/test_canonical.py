"""The stored form: line endings settled once, as Dovecot settles them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hopthu.mail import binary, canonical, canonical_keeping_binary, nul_safe, parse, section_range
from hopthu.mail.canonical import _keeping_binary_parts, is_canonical


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (b"Subject: a\r\n\r\nbody\r\n", b"Subject: a\r\n\r\nbody\r\n"),
        (b"Subject: a\n\nbody\n", b"Subject: a\r\n\r\nbody\r\n"),  # bare LF
        (b"Subject: a\r\n\nbody", b"Subject: a\r\n\r\nbody"),  # mixed
        (b"a\r\r\nb\r\n", b"a\r\nb\r\n"),  # CR CR LF: one CR goes, as in an LF-only store
        (b"a\rb\r\n", b"a\rb\r\n"),  # a lone CR inside a line stays
        (b"a\r\n\r", b"a\r\n"),  # a CR at the very end is dropped
        (b"a\0b\r\n", b"a\0b\r\n"),  # NUL stays; it is mapped to 0x80 only on the wire
        (b"", b""),
    ],
)
def test_canonical(raw: bytes, stored: bytes) -> None:
    assert canonical(raw) == stored


def test_canonical_input_is_returned_as_is() -> None:
    data = b"Subject: x\r\n\r\n" + b"line\r\n" * 1000
    assert canonical(data) is data


def test_sizes_count_the_crlf_form() -> None:
    raw = b"From: a@b\nSubject: bare LF\n\nline one\nline two\n"
    data = canonical(raw)
    parsed = parse(data)
    assert parsed.size == len(raw) + raw.count(b"\n")
    assert section_range(parsed.structure, "TEXT") == (parsed.header_end, len(data))
    assert parsed.structure["lines"] == 2


def test_nul_goes_out_as_0x80_with_the_same_length() -> None:
    data = canonical(b"Subject: x\r\n\r\nT\0e\0s\0t\r\n")
    parsed = parse(data)
    assert parsed.has_nuls
    assert nul_safe(data) == data.replace(b"\0", b"\x80")
    assert not parse(canonical(b"Subject: x\r\n\r\nno nul\r\n")).has_nuls


def test_binary_parts_keep_their_octets_and_the_rest_is_canonical() -> None:
    # RFC 3516 §4.4: an APPENDed part with Content-Transfer-Encoding binary is data, not lines
    payload = b"\0-\xe4\n\r\n\n"
    raw = (
        b"From: a@b\nMime-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n"
        b"--x\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: BINARY\n\n"
        + payload
        + b"\n--x\nContent-Type: text/plain\n\nline\n--x--\n"
    )
    data = canonical_keeping_binary(raw)
    assert data == canonical(raw).replace(canonical(payload), payload)
    structure = parse(data).structure
    assert binary(data, structure, "1") == payload
    assert binary(data, structure, "2") == b"line"
    # Without a binary part it is `canonical`, the form SMTP mail is stored in
    plain = b"Subject: a\nMime-Version: 1.0\n\nbody\n"
    assert canonical_keeping_binary(plain) == canonical(plain)
    # A single-part message: its whole body kept
    single = b"Mime-Version: 1.0\nContent-Transfer-Encoding: binary\n\n" + payload
    assert (
        canonical_keeping_binary(single)
        == b"Mime-Version: 1.0\r\nContent-Transfer-Encoding: binary\r\n\r\n" + payload
    )


_PIECES = st.sampled_from(
    [b"a", b"\r\n", b"\r", b"\n", b"--b", b"--b--", b"\r\n--b\r\n", b"\0", b"\xff", b" ", b":"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=40).map(b"".join))
def test_is_canonical_means_every_cr_and_lf_is_in_a_pair(raw: bytes) -> None:
    rest = raw.replace(b"\r\n", b"")
    assert is_canonical(raw) == (b"\r" not in rest and b"\n" not in rest)
    assert (canonical(raw) == raw) or not is_canonical(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(_PIECES, max_size=12).map(b"".join), min_size=1, max_size=4),
    st.lists(st.sampled_from([b"binary", b"BINARY", b"7bit", b"base64"]), min_size=4, max_size=4),
    st.booleans(),
)
def test_canonical_input_with_binary_parts_is_kept_whole(
    bodies: list[bytes], encodings: list[bytes], closed: bool
) -> None:
    # Returning canonical input as is skips cutting out its binary bodies: cutting them out
    # must give back the same octets, wherever the parts' bodies start and end.
    parts = b"".join(
        b"--b\r\nContent-Transfer-Encoding: " + cte + b"\r\n\r\n" + body + b"\r\n"
        for body, cte in zip(bodies, encodings, strict=False)
    )
    raw = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + parts
    raw += b"--b--\r\n" if closed else b""
    if is_canonical(raw):
        assert _keeping_binary_parts(raw) == raw
    assert canonical_keeping_binary(raw) == _keeping_binary_parts(raw) or b"binary" not in raw.lower()
