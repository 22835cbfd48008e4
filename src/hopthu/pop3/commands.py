"""POP3 client commands as typed values, parsed without any I/O, and the table of where each is valid.

Keeping the parser pure lets the listener, the table tests and any fuzzer share it, and lets every
argument be checked (message numbers are numbers, SASL responses are base64) before a session acts
on it. `ParseError` is the only exception it raises; its text goes to the client after `-ERR`.
Grammar references are RFC 1939 §3 and RFC 2449 §3 unless stated otherwise.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from enum import Enum


class State(Enum):
    """RFC 1939 §3: the UPDATE state is entered only by QUIT and ends the session, so it has no commands."""

    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"


_AUTH = frozenset({State.AUTHORIZATION})
_TRANS = frozenset({State.TRANSACTION})
_BOTH = _AUTH | _TRANS

# Which command is valid in which state (RFC 1939 §§4-7, RFC 2449 §5 CAPA, RFC 2595 §4 STLS,
# RFC 5034 §4 AUTH). A command outside its states is answered -ERR and changes nothing.
ALLOWED: dict[str, frozenset[State]] = {
    "CAPA": _BOTH,
    "QUIT": _BOTH,
    "USER": _AUTH,
    "PASS": _AUTH,
    "AUTH": _AUTH,
    "STLS": _AUTH,
    "STAT": _TRANS,
    "LIST": _TRANS,
    "UIDL": _TRANS,
    "RETR": _TRANS,
    "TOP": _TRANS,
    "DELE": _TRANS,
    "NOOP": _TRANS,
    "RSET": _TRANS,
}

_NO_ARGUMENT = frozenset({"CAPA", "QUIT", "STLS", "STAT", "NOOP", "RSET"})
_OPTIONAL_NUMBER = frozenset({"LIST", "UIDL"})
_NUMBER = frozenset({"RETR", "DELE"})

_KEYWORD = re.compile(rb"[A-Za-z]{3,4}")  # RFC 2449 §3: keywords are three or four characters
_NUMBER_TEXT = re.compile(r"[0-9]{1,10}")
_MECHANISM = re.compile(r"[A-Za-z0-9_-]{1,20}")  # RFC 4422 §3.1 sasl-mech
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

CANCEL = "*"  # RFC 5034 §4: a client's "*" line cancels an AUTH exchange


class ParseError(Exception):
    """A line that is not a command we understand; `text` is what the client is told."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


UNKNOWN = "Lệnh không hợp lệ / Unknown command"
BAD_ARGUMENTS = "Tham số không hợp lệ / Bad arguments"
BAD_NUMBER = "Số thư không hợp lệ / Invalid message number"
BAD_ENCODING = "Dòng lệnh không phải UTF-8 / Command is not UTF-8"
BAD_BASE64 = "Dữ liệu base64 không hợp lệ / Invalid base64"


@dataclass(frozen=True, slots=True)
class Command:
    verb: str  # upper case
    number: int | None = None  # the message number of LIST, UIDL, RETR, DELE, TOP
    lines: int | None = None  # TOP's count of body lines
    text: str = ""  # USER's name, PASS's password, AUTH's mechanism (upper case)
    initial: str | None = None  # AUTH's initial response, still base64 (RFC 5034 §4)


def parse_command(line: bytes) -> Command:
    """One command line (with or without its CRLF) as a Command, or ParseError."""
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    keyword, _, rest_bytes = line.partition(b" ")
    if not _KEYWORD.fullmatch(keyword):
        raise ParseError(UNKNOWN)
    verb = keyword.decode("ascii").upper()
    if verb not in ALLOWED:
        raise ParseError(UNKNOWN)
    try:
        rest = rest_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise ParseError(BAD_ENCODING) from None
    if verb == "PASS":
        # RFC 1939 §7: the password is the rest of the line, spaces included.
        if not rest or _CONTROL.search(rest):
            raise ParseError(BAD_ARGUMENTS)
        return Command(verb, text=rest)
    if _CONTROL.search(rest):
        raise ParseError(BAD_ARGUMENTS)
    args = rest.split(" ") if rest else []
    if verb in _NO_ARGUMENT:
        if args:
            raise ParseError(BAD_ARGUMENTS)
        return Command(verb)
    if verb in _OPTIONAL_NUMBER and not args:
        return Command(verb)
    if verb in _OPTIONAL_NUMBER | _NUMBER:
        if len(args) != 1:
            raise ParseError(BAD_ARGUMENTS)
        return Command(verb, number=_message_number(args[0]))
    if verb == "TOP":  # RFC 1939 §7: TOP msg n, n non-negative
        if len(args) != 2 or not _NUMBER_TEXT.fullmatch(args[1]):
            raise ParseError(BAD_ARGUMENTS)
        return Command(verb, number=_message_number(args[0]), lines=int(args[1]))
    if verb == "USER":
        if len(args) != 1 or not args[0]:
            raise ParseError(BAD_ARGUMENTS)
        return Command(verb, text=args[0])
    # AUTH [mechanism [initial-response]] (RFC 5034 §4); with no argument the mechanisms are listed.
    if not args:
        return Command(verb)
    if len(args) > 2 or not _MECHANISM.fullmatch(args[0]):
        raise ParseError(BAD_ARGUMENTS)
    return Command(verb, text=args[0].upper(), initial=args[1] if len(args) == 2 else None)


def _message_number(text: str) -> int:
    # RFC 1939 §3: message numbers start at 1; anything else names no message.
    if not _NUMBER_TEXT.fullmatch(text) or int(text) == 0:
        raise ParseError(BAD_NUMBER)
    return int(text)


def decode_plain(response: str) -> tuple[str, str, str]:
    """RFC 4616 §2: base64 of authzid NUL authcid NUL passwd, as (authzid, authcid, password).

    "=" is an empty initial response (RFC 5034 §4); it, like any malformed message, is ParseError.
    """
    response = response.strip()
    if response == "=" or not _BASE64.fullmatch(response):
        raise ParseError(BAD_BASE64)
    try:
        decoded = base64.b64decode(response, validate=True)
        parts = decoded.decode("utf-8").split("\0")
    except (binascii.Error, UnicodeDecodeError):
        raise ParseError(BAD_BASE64) from None
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ParseError(BAD_ARGUMENTS)
    return parts[0], parts[1], parts[2]
