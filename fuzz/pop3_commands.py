"""POP3: the command parser, a whole session in the AUTHORIZATION state over an in-memory
transport, and the multi-line framing (dot-stuffing and TOP) of whatever bytes a message holds.

`ParseError` is the parser's documented answer; the session must answer every line (never raise,
never show a traceback) and end when the client hangs up. The framing has an exact oracle: undoing
the dot-stuffing of `stuffed(data)` gives `data` back (its last line ended), and `top` returns a
prefix of the message that holds its whole header.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib

from fuzz.engine import Target
from hopthu.directory.auth import Identity, Refusal, SignInRefused
from hopthu.mail import canonical
from hopthu.pop3 import framing
from hopthu.pop3.commands import ParseError, decode_plain, parse_command
from hopthu.pop3.maildrop import MaildropLocks
from hopthu.pop3.session import Disconnected, LineTooLong, Pop3Service, Session

SEEDS: tuple[bytes, ...] = (
    b"CAPA\r\nUSER nvminh\r\nPASS Hop-Thu 2026\r\nQUIT\r\n",
    b"AUTH PLAIN AG52bWluaABIb3AtVGh1LTIwMjY=\r\nSTAT\r\nLIST\r\nLIST 1\r\nUIDL 2\r\nQUIT\r\n",
    b"AUTH PLAIN\r\n*\r\nAUTH\r\nAUTH LOGIN\r\nSTLS\r\nNOOP\r\nRSET\r\n",
    b"RETR 1\r\nTOP 1 10\r\nDELE 1\r\nTOP 4294967295 0\r\nLIST 0\r\nRETR -1\r\n",
    b"USER \xc3\xa9\r\nPASS a\x00b\r\nPASS \r\nAPOP x y\r\nXTND\r\n",
    b"From: a@b\r\nSubject: x\r\n\r\n.line\r\n..two\r\n.\r\nlast",
    b"Subject: no body",
    b"\r\n.\r\n\n.\n",
)
TOKENS = (
    b"USER ", b"PASS ", b"AUTH PLAIN ", b"TOP ", b"RETR ", b"LIST ", b"\r\n.", b"\n.", b".\r\n", b"\r\n\r\n",
    b"\n\n", b"*\r\n", b"=", b"AG52bWluaABIb3AtVGh1LTIwMjY=", b"0", b"4294967296",
)  # fmt: skip


class _Authenticator:
    """Every sign-in is refused: the authorization state is what strangers reach."""

    async def sign_in(self, login: str, password: str, **kwargs: object) -> Identity:
        raise SignInRefused(Refusal.BAD_CREDENTIALS, "Sai mật khẩu", "Wrong password")


class _Transport:
    def __init__(self, lines: list[bytes], max_line: int) -> None:
        self.lines = lines
        self.max_line = max_line
        self.output = bytearray()
        self.closed = False
        self._secure = False

    peer = "127.0.0.1"

    @property
    def secure(self) -> bool:
        return self._secure

    @property
    def can_start_tls(self) -> bool:
        return not self._secure

    async def read_line(self) -> bytes:
        if not self.lines:
            raise Disconnected("hung up")
        line = self.lines.pop(0)
        if len(line) > self.max_line:  # what the listener's stream does with a line over its limit
            raise LineTooLong(fatal=len(line) > 64 * 1024)
        return line

    def write(self, data: bytes) -> None:
        self.output += data

    async def drain(self) -> None:
        return None

    async def start_tls(self) -> None:
        self._secure = True

    async def close(self) -> None:
        self.closed = True


_loop: asyncio.AbstractEventLoop | None = None
_service = Pop3Service(
    _Authenticator(),  # type: ignore[arg-type]  # a stand-in that signs in one fixed password
    None,  # type: ignore[arg-type]  # no maildrop is opened before a sign-in succeeds
    MaildropLocks(),
    plain_login_on_loopback=True,
    max_command=255,
    max_sasl_line=4096,
)


def run(data: bytes) -> None:
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    for line in data.split(b"\n")[:200]:
        with contextlib.suppress(ParseError):
            parse_command(line)
        with contextlib.suppress(ParseError):
            decode_plain(line.decode("utf-8", "replace"))
    lines = data.splitlines(keepends=True)
    transport = _Transport(lines, 4096)
    _loop.run_until_complete(asyncio.wait_for(Session(_service, transport).run(), 5))
    assert transport.closed, "the session did not close its connection"
    if b"Traceback" in transport.output or b"SYS/TEMP" in transport.output:
        raise AssertionError(f"the session failed inside: {bytes(transport.output[-300:])!r}")
    _framing(data)


def _framing(raw: bytes) -> None:
    data = canonical(raw)  # what the store holds and POP3 serves
    body = b"".join(framing.stuffed(data, chunk=1 + zlib.crc32(data) % 4096))
    assert body.endswith(b"\r\n.\r\n") or body == b".\r\n", "no terminator"
    content = body[: -len(framing.TERMINATOR)]
    unstuffed = b"\n".join(line[1:] if line.startswith(b".") else line for line in content.split(b"\n"))
    expected = data if not data or data.endswith(b"\n") else data + b"\r\n"
    assert unstuffed == expected, "dot-stuffing does not undo to the message"
    lines = zlib.crc32(data) % 5
    cut = framing.top(data, lines)
    assert data.startswith(cut), "TOP is not a prefix of the message"


def target() -> Target:
    import logging

    logging.getLogger("hopthu").setLevel(logging.CRITICAL)
    return Target("pop3_commands", run, SEEDS, TOKENS, (), max_len=32 * 1024)
