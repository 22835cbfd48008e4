"""Part payloads decoded: strictly for IMAP BINARY and downloads, leniently for search and previews.

BINARY (RFC 3516) must refuse what it cannot decode: an unknown Content-Transfer-Encoding is
`NO [UNKNOWN-CTE]`, invalid base64 or quoted-printable is `NO [PARSE]`. What counts as invalid is
Dovecot's rule, so clients see the same answers: base64 may carry white space anywhere but nothing
after its padding; quoted-printable may not leave a lone "=", a CR without LF, or 77 or more spaces
before text. BINARY of a message/rfc822 part is the enclosed message with its parts decoded and
their Content-Transfer-Encoding changed to binary.

Search and previews never fail: they take what decodes and move on.
"""

from __future__ import annotations

import binascii
import re

from .structure import Node, find_part

_WS = b" \t\r\n"
_B64_CHARS = re.compile(rb"[A-Za-z0-9+/]*")
# Possessive runs and look-behinds keep these patterns linear on long runs of white space.
_QP_INVALID = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*+\r?\n)|\r(?!\n)|(?<![ \t])[ \t]{77,}+(?=[^ \t\r\n])")
_QP_TRAILING_SPACE = re.compile(rb"(?<![ \t])[ \t]++(?=\r?\n|\Z)")
_QP_SOFT_BREAK = re.compile(rb"=\r?\n")
_BARE_LF = re.compile(rb"(?<!\r)\n")
_CTE_BINARY = b"Content-Transfer-Encoding: binary\r\n"
_CTE_LINE = re.compile(rb"(?im)^content-transfer-encoding[ \t]*:.*\r?\n(?:[ \t].*\r?\n)*")


class DecodeError(Exception):
    """A part that BINARY cannot return; `code` is the IMAP response code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decode_base64(body: bytes) -> bytes:
    """RFC 2045 §6.8, strictly: white space is ignored, anything else wrong is an error."""
    compact = body.translate(None, _WS)
    eq = compact.find(b"=")
    head = compact if eq < 0 else compact[:eq]
    if _B64_CHARS.fullmatch(head) is None:
        raise DecodeError("PARSE", "Invalid base64 data")
    rest = len(head) % 4
    tail = b"" if eq < 0 else compact[eq:]
    if tail != {0: b"", 2: b"==", 3: b"="}.get(rest, b"-"):
        raise DecodeError("PARSE", "Invalid or truncated base64 data")
    return binascii.a2b_base64(compact)


def decode_qp(body: bytes) -> bytes:
    """RFC 2045 §6.7, strictly; soft line breaks and trailing white space removed, CRLF kept."""
    bad = _QP_INVALID.search(body)
    if bad is not None:
        raise DecodeError("PARSE", f"Invalid quoted-printable data at {bad.start()}")
    return _qp_sub(body)


def _qp_sub(body: bytes) -> bytes:
    """Quoted-printable decoding as Dovecot does it: trailing white space dropped first (so "a =" +
    soft break keeps its space), then soft breaks, bare LF made CRLF, then =XX (in C)."""
    body = _QP_TRAILING_SPACE.sub(b"", body)
    body = _QP_SOFT_BREAK.sub(b"", body)
    return binascii.a2b_qp(_BARE_LF.sub(b"\r\n", body))


def _filtered_header(header: bytes) -> bytes:
    """The part header with its Content-Transfer-Encoding said to be binary (RFC 3516 §4.2)."""
    kept = _CTE_LINE.sub(b"", header)
    if kept.endswith(b"\r\n\r\n") or kept == b"\r\n":
        return kept[:-2] + _CTE_BINARY + b"\r\n"
    return kept


def binary(data: bytes, structure: Node, section: str = "") -> bytes:
    """BINARY[section] (RFC 3516 §4.2): the part's body decoded, or the whole message with every
    part decoded when `section` is empty; a part that does not exist reads as empty.

    Raises DecodeError: code "UNKNOWN-CTE" for an encoding we do not know, "PARSE" for invalid or
    truncated data (Dovecot answers a truncated base64 block with a server error; PARSE says
    what is wrong).
    """
    node = find_part(structure, section) if section else structure
    if node is None:
        return b""
    out: list[bytes] = []
    _binary(data, node, not section, out)
    return b"".join(out)


def _binary(data: bytes, node: Node, include_header: bool, out: list[bytes]) -> None:
    cte = node.get("cte")
    if cte == "unknown":
        raise DecodeError("UNKNOWN-CTE", "Unknown Content-Transfer-Encoding")
    start, body, end = node["start"], node["body_start"], node["end"]
    if include_header:
        header = data[start:body]
        out.append(_filtered_header(header) if cte else header)
    children = node.get("parts")
    if children:
        pos = body
        for child in children:
            out.append(data[pos : child["start"]])
            _binary(data, child, True, out)
            pos = child["end"]
        out.append(data[pos:end])
    elif cte == "base64":
        out.append(decode_base64(data[body:end]))
    elif cte == "qp":
        out.append(decode_qp(data[body:end]))
    else:
        out.append(data[body:end])


def binary_size(data: bytes, structure: Node, section: str = "") -> int:
    """BINARY.SIZE[section] (RFC 3516 §4.3); like Dovecot's, it fails when any part of the
    message cannot be decoded, not only the part asked for."""
    whole = binary(data, structure)
    return len(whole) if not section else len(binary(data, structure, section))


def decoded_size(data: bytes, node: Node) -> int:
    """The decoded size of a leaf part without decoding it: exact for base64 (the common case for
    files), an estimate for quoted-printable, the stored size otherwise."""
    body: int = node["body_start"]
    end: int = node["end"]
    size = end - body
    cte = node.get("cte")
    if cte == "base64":
        compact = data[body:end].translate(None, _WS)  # one C pass, no decoding
        return len(compact.rstrip(b"=")) * 3 // 4
    if cte == "qp":
        soft = data.count(b"=\r\n", body, end)
        escaped = data.count(b"=", body, end) - soft
        return max(0, size - 2 * escaped - 3 * soft)
    return size


def lenient_body(data: bytes, node: Node, limit: int) -> bytes:
    """At most about `limit` decoded octets of a leaf part's body; invalid input is skipped over."""
    body, end = node["body_start"], node["end"]
    cte = node.get("cte")
    if cte == "base64":
        chunk = data[body : min(end, body + limit * 4 // 3 + 4 + limit // 38)]
        compact = chunk.translate(None, _WS)
        compact = compact[: len(compact) // 4 * 4]
        try:
            return binascii.a2b_base64(compact)
        except binascii.Error:
            return b""
    if cte == "qp":
        return binascii.a2b_qp(data[body : min(end, body + limit * 3)])[:limit]
    return data[body : min(end, body + limit)]
