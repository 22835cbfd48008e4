"""BINARY decoding: what decodes, what is refused and with which response code (RFC 3516)."""

from __future__ import annotations

import base64

import pytest

from hopthu.mail import DecodeError, binary, binary_size, canonical, parse
from hopthu.mail.decode import decode_base64, decode_qp


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        (b"Q8O0bmcgdsSDbg==", "Công văn".encode()),
        (b"Q8O0bmcg\r\ndsSDbg==\r\n", "Công văn".encode()),
        (b" Q8O0 bmcg\tdsSD bg= =\r\n  \r\n", "Công văn".encode()),  # white space anywhere
        (b"YWJj", b"abc"),
        (b"YWI=", b"ab"),
        (b"", b""),
    ],
)
def test_base64(encoded: bytes, decoded: bytes) -> None:
    assert decode_base64(encoded) == decoded


@pytest.mark.parametrize(
    "encoded",
    [
        b"YW*j",  # not base64
        b"YWJj\r\n=\r\n",  # padding where none is due
        b"YWI=x",  # data after the padding
        b"YWJjZ",  # a partial block
        b"YQ=",  # half the padding
    ],
)
def test_base64_refused(encoded: bytes) -> None:
    with pytest.raises(DecodeError) as refused:
        decode_base64(encoded)
    assert refused.value.code == "PARSE"


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        (b"C=C3=B4ng v=C4=83n", "Công văn".encode()),
        (b"soft=\r\nbreak", b"softbreak"),
        (b"soft= \t\r\nbreak", b"softbreak"),
        (b"trailing  \r\nspace \t", b"trailing\r\nspace"),
        (b"bare\nLF", b"bare\r\nLF"),
        (b"lower=c3=a2", "lowerâ".encode()),
        (b"kept  inside", b"kept  inside"),
    ],
)
def test_quoted_printable(encoded: bytes, decoded: bytes) -> None:
    assert decode_qp(encoded) == decoded


@pytest.mark.parametrize(
    "encoded", [b"a=", b"a=4", b"a=ZZ", b"a=\rb", b"lone\rCR", b"a= b", b" " * 77 + b"x"]
)
def test_quoted_printable_refused(encoded: bytes) -> None:
    with pytest.raises(DecodeError) as refused:
        decode_qp(encoded)
    assert refused.value.code == "PARSE"


def _message(cte: str, body: bytes) -> bytes:
    return canonical(
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: "
        + cte.encode()
        + b"\r\n\r\n"
        + body
        + b"\r\n--b--\r\n"
    )


def test_binary_of_parts_and_of_the_whole_message() -> None:
    pdf = b"%PDF-1.4\n\0\x01\x02 binary \xff"
    data = _message("base64", base64.encodebytes(pdf).replace(b"\n", b"\r\n").rstrip())
    parsed = parse(data)
    assert binary(data, parsed.structure, "2") == pdf
    assert binary_size(data, parsed.structure, "2") == len(pdf)
    assert binary(data, parsed.structure, "1") == b"hello"
    assert binary(data, parsed.structure, "9") == b""  # no such part: empty, as Dovecot answers
    whole = binary(data, parsed.structure)
    assert b"Content-Transfer-Encoding: binary\r\n\r\n" + pdf in whole
    assert b"base64" not in whole


def test_unknown_encoding_is_refused_and_spoils_binary_size() -> None:
    data = _message("x-uuencode", b"begin 644 a\r\nend")
    parsed = parse(data)
    with pytest.raises(DecodeError) as refused:
        binary(data, parsed.structure, "2")
    assert refused.value.code == "UNKNOWN-CTE"
    assert binary(data, parsed.structure, "1") == b"hello"
    with pytest.raises(DecodeError):
        binary_size(data, parsed.structure, "1")  # as Dovecot: the message as a whole is decoded
