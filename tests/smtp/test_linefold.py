"""Folding lines over 998 octets for relaying (RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hopthu.smtp.linefold import LIMIT, fold_long_lines


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\r\n")


def test_short_lines_are_left_as_they_are() -> None:
    message = b"Subject: ok\r\n\r\n" + b"x" * LIMIT + b"\r\n"
    assert fold_long_lines(message) is message


def test_a_long_header_is_folded_at_blanks_into_valid_continuation_lines() -> None:
    words = " ".join(f"tu{n}" for n in range(600))
    message = f"Subject: {words}\r\nTo: a@b.vn\r\n\r\nbody\r\n".encode()
    folded = fold_long_lines(message)
    lines = _lines(folded)
    assert max(map(len, lines)) <= LIMIT
    header, _, body = folded.partition(b"\r\n\r\n")
    assert body == b"body\r\n"
    unfolded = header.replace(b"\r\n ", b" ")  # RFC 5322 §2.2.3 unfolding gives back the field
    assert unfolded == message.partition(b"\r\n\r\n")[0]


def test_a_line_without_blanks_is_cut_outside_utf8_characters() -> None:
    body = ("Cần Thơ" * 1000).replace(" ", "").encode()
    folded = fold_long_lines(b"A: b\r\n\r\n" + body + b"\r\n")
    lines = _lines(folded)
    assert max(map(len, lines)) <= LIMIT
    for line in lines:
        line.decode("utf-8")  # no character cut in two
    assert all(line.startswith(b" ") for line in lines[3:-1])  # every continuation starts with a blank
    assert lines[2] + b"".join(line[1:] for line in lines[3:-1]) == body


@given(
    st.lists(st.binary(max_size=3000).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")), max_size=6)
)
def test_folding_bounds_every_line_keeps_every_byte_and_is_stable(lines: list[bytes]) -> None:
    message = b"".join(line + b"\r\n" for line in lines)
    folded = fold_long_lines(message)
    assert all(len(line) <= LIMIT for line in _lines(folded))
    assert fold_long_lines(folded) == folded
    # only CRLFs and added spaces appear
    assert folded.replace(b"\r\n", b"").replace(b" ", b"") == message.replace(b"\r\n", b"").replace(b" ", b"")
