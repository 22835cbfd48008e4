"""IMAP wire forms of stored message values, without parsing the message again.

FETCH ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, RFC 9051 §7.5.2) are rendered from the
JSON kept at delivery; BODY[section] (RFC 3501 §6.4.5) is a range of the stored bytes. Strings are
quoted or sent as literals exactly as Dovecot does it, so clients that cache what they saw keep
working after the move: a string with 8-bit octets, CR or LF, or more than four characters that
need a backslash goes as a literal; header text meant for people (subject, display names) has its
white space runs folded to one space.
"""

from __future__ import annotations

import re

from .envelope import Envelope, octets
from .structure import Node, find_part

NIL = b"NIL"
_MAX_ESCAPES = 4
_FOLDING = re.compile(rb"[ \t\r\n]+")
_NEEDS_FOLDING = re.compile(rb'[\x00\t\r\n"\\\x80-\xff]|  |\A | \Z')
_BREAK_BEFORE_WORD = re.compile(rb"[\r\n](?![ \t\r\n\x00]|\Z)")


def _literal(value: bytes) -> bytes:
    return b"{%d}\r\n%s" % (len(value), value)


def nstring(value: bytes | None) -> bytes:
    """RFC 3501 §4.5 nstring: NIL, a quoted string, or a literal when quoting cannot carry it."""
    if value is None:
        return NIL
    if (
        b"\r" in value
        or b"\n" in value
        or not value.isascii()
        or value.count(b'"') + value.count(b"\\") > _MAX_ESCAPES
    ):
        return _literal(value)
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def nstring_nolf(value: bytes | None) -> bytes:
    """An nstring with line breaks removed (a space kept between words that a break separated)."""
    if value is None or (b"\r" not in value and b"\n" not in value):
        return nstring(value)
    spaced = _BREAK_BEFORE_WORD.sub(b" ", value)
    return nstring(spaced.replace(b"\r", b"").replace(b"\n", b""))


def string_for_humans(value: bytes) -> bytes:
    """Text for people: runs of space, TAB, CR and LF become one space, the ends are trimmed."""
    if _NEEDS_FOLDING.search(value) is None:
        return b'"' + value + b'"'
    words = [w for w in _FOLDING.split(value.replace(b"\0", b"\x80")) if w]
    return _literal(b" ".join(words)) if words else b'""'


def _s(value: str | None) -> bytes | None:
    return None if value is None else octets(value)


def _addresses(addrs: list[list[str | None]] | None) -> bytes:
    if not addrs:
        return NIL
    out = [b"("]
    for addr in addrs:
        name = _s(addr[0])
        out += [
            b"(",
            NIL if name is None else string_for_humans(name),
            b" ",
            nstring(_s(addr[1])),
            b" ",
            nstring(_s(addr[2])),
            b" ",
            nstring(_s(addr[3])),
            b")",
        ]
    out.append(b")")
    return b"".join(out)


def envelope_imap(env: Envelope | None) -> bytes:
    """RFC 3501 §7.4.2 ENVELOPE, with its parentheses."""
    if env is None:
        return b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
    subject = _s(env.get("subject"))
    sender = env.get("sender") or env.get("from")
    reply_to = env.get("reply_to") or env.get("from")
    return b" ".join(
        [
            b"(" + nstring_nolf(_s(env.get("date"))),
            NIL if subject is None else string_for_humans(subject),
            _addresses(env.get("from")),
            _addresses(sender),
            _addresses(reply_to),
            _addresses(env.get("to")),
            _addresses(env.get("cc")),
            _addresses(env.get("bcc")),
            nstring_nolf(_s(env.get("in_reply_to"))),
            nstring_nolf(_s(env.get("message_id"))) + b")",
        ]
    )


def _params(params: list[list[str]] | None, default_charset: bool = False) -> bytes:
    if not params and not default_charset:
        return NIL
    items = [nstring(octets(k)) + b" " + nstring(octets(v)) for k, v in params or ()]
    if default_charset and not any(k.lower() == "charset" for k, _ in params or ()):
        items.append(b'"charset" "us-ascii"')  # RFC 2045 §5.2 default
    return b"(" + b" ".join(items) + b")"


def _extension_common(node: Node) -> bytes:
    disposition = node.get("disposition")
    if disposition is None:
        disp = NIL
    else:
        disp = b"(" + nstring(octets(disposition[0])) + b" " + _params(disposition[1]) + b")"
    language = node.get("language")
    lang = NIL if not language else b"(" + b" ".join(nstring(octets(t)) for t in language) + b")"
    return b" " + disp + b" " + lang + b" " + nstring_nolf(_s(node.get("location")))


_EMPTY_BODY = b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0'


def _body(node: Node, extensible: bool) -> bytes:
    kind = node["kind"]
    if kind == "multipart":
        children = node.get("parts")
        if children:
            inner = b"".join(b"(" + _body(child, extensible) + b")" for child in children)
        else:  # RFC 2046 §5.1.1 requires a part; show an empty one, as Dovecot does
            inner = _EMPTY_BODY + (b" NIL NIL NIL NIL)" if extensible else b")")
        out = inner + b" " + nstring(octets(node.get("subtype", "")))
        if extensible:
            out += b" " + _params(node.get("params")) + _extension_common(node)
        return out
    if kind == "message":
        head, text = b'"message" "rfc822"', False
    elif "type" not in node:
        head, text = b'"text" "plain"', True
    else:
        text = node["type"].lower() == "text"
        head = nstring(octets(node["type"])) + b" " + nstring(octets(node["subtype"]))
    encoding = node.get("encoding")
    out = b" ".join(
        [
            head,
            _params(node.get("params"), text),
            nstring_nolf(_s(node.get("id"))),
            nstring_nolf(_s(node.get("description"))),
            b'"7bit"' if encoding is None else nstring(octets(encoding)),
            b"%d" % (node["end"] - node["body_start"]),
        ]
    )
    if text:
        out += b" %d" % node["lines"]
    elif kind == "message":
        child = node["parts"][0]
        out += (
            b" "
            + envelope_imap(node.get("envelope"))
            + b" ("
            + _body(child, extensible)
            + b") %d" % node["lines"]
        )
    if extensible:
        out += b" " + nstring_nolf(_s(node.get("md5"))) + _extension_common(node)
    return out


def _plain_7bit(node: Node) -> bool:
    """A single text/plain us-ascii 7bit part with nothing else said about it."""
    if node["kind"] != "leaf" or (
        "type" in node and (node["type"].lower() != "text" or node["subtype"].lower() != "plain")
    ):
        return False
    params = node.get("params") or []
    if params and (
        len(params) != 1 or params[0][0].lower() != "charset" or params[0][1].lower() != "us-ascii"
    ):
        return False
    return node.get("encoding", "7bit").lower() == "7bit" and not any(
        key in node for key in ("id", "description", "md5", "disposition", "language", "location")
    )


def bodystructure_imap(structure: Node, extensible: bool = True) -> bytes:
    """BODYSTRUCTURE (`extensible`) or BODY (RFC 3501 §7.4.2), with its parentheses.

    A plain us-ascii message is written in one fixed spelling, whatever the case of its headers:
    Dovecot answers from a cached flag for such messages, and clients cached that answer.
    """
    if _plain_7bit(structure):
        size = structure["end"] - structure["body_start"]
        return (
            _EMPTY_BODY[:-3]
            + b"%d %d" % (size, structure["lines"])
            + (b" NIL NIL NIL NIL)" if extensible else b")")
        )
    return b"(" + _body(structure, extensible) + b")"


def section_range(structure: Node, section: str) -> tuple[int, int] | None:
    """The byte range of BODY[section] in the stored message, or None for a missing part.

    `section` is what is between the brackets, upper or lower case: "", "HEADER", "TEXT", "1",
    "1.2.MIME", "2.HEADER", "2.TEXT". HEADER.FIELDS is a filter over the HEADER range and is
    left to the caller. A missing part reads as an empty string (Dovecot's answer, RFC 9051 §6.4.5).
    """
    spec = section.upper()
    number, dot, suffix = spec.rpartition(".") if spec and not spec[-1].isdigit() else (spec, "", "")
    if suffix not in ("", "HEADER", "TEXT", "MIME") or (dot and not suffix):
        return None
    if not number:
        node: Node | None = structure
        if suffix == "MIME":
            return None
    else:
        node = find_part(structure, number)
        if node is not None and suffix in ("HEADER", "TEXT"):
            node = node["parts"][0] if node["kind"] == "message" else None
    if node is None:
        return None
    if suffix in ("HEADER", "MIME"):
        return node["start"], node["body_start"]
    if suffix == "TEXT" or number:
        return node["body_start"], node["end"]
    return node["start"], node["end"]


def nul_safe(chunk: bytes) -> bytes:
    """Message octets for a non-BINARY literal: NUL is not allowed there, it becomes 0x80.

    The stored bytes keep NULs (BINARY returns them, RFC 3516), so only messages whose
    `has_nuls` is true need this on the way out.
    """
    return chunk.replace(b"\0", b"\x80")
