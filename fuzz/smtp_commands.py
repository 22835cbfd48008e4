"""SMTP command handling: the real aiosmtpd protocol class of our listeners (`HopThuSMTP`) with our
MX and submission handlers, driven over an in-memory transport.

The directory and the pipeline behind the handlers are stand-ins (no database): every address at
the city's domain exists except those starting with "unknown", and DATA is parsed as the store
would parse it. aiosmtpd answers an exception inside a command with "500 Error", which would hide a
crash from a client's view; the handlers here record it instead, so it counts as one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import zlib
from typing import Any

from aiosmtpd.smtp import SMTP

from fuzz.engine import Hang, Target, splits
from hopthu.directory.auth import Identity, Refusal, SignInRefused
from hopthu.directory.routing import LocalRecipient
from hopthu.mail import canonical, parse
from hopthu.policy import lifecycle
from hopthu.policy.sending import Limits
from hopthu.smtp import outcome
from hopthu.smtp.handlers import HopThuSMTP, MxHandler, SubmissionHandler
from hopthu.smtp.limits import SendingLimits
from hopthu.smtp.outcome import Outcome

DOMAIN = "cantho.gov.vn"
PASSWORD = b"Hop-Thu-2026"
# The options of our listeners (smtp/listeners.py), minus TLS.
OPTIONS: dict[str, Any] = {
    "hostname": "mx.cantho.gov.vn",
    "ident": "Hop Thu ESMTP",
    "data_size_limit": 64 * 1024,
    "enable_SMTPUTF8": True,
    "timeout": 300,
    "command_call_limit": {"*": 100, "MAIL": 10_000, "RCPT": 200_000, "DATA": 10_000, "RSET": 10_000},
}

SEEDS: tuple[bytes, ...] = (
    b"EHLO client.example.org\r\nMAIL FROM:<ban@example.org> SIZE=4096\r\nRCPT TO:<nvminh@cantho.gov.vn>\r\n"
    b"DATA\r\nFrom: ban@example.org\r\nSubject: =?utf-8?b?Q8O0bmcgdsSDbg==?=\r\n\r\n"
    b"Kinh gui\r\n..dot\r\n.\r\nQUIT\r\n",
    b"HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<unknown@cantho.gov.vn>\r\nRCPT TO:<a@example.com>\r\n"
    b"RSET\r\nNOOP\r\nQUIT\r\n",
    b'EHLO x\r\nMAIL FROM:<"quoted local"@example.org> BODY=8BITMIME SMTPUTF8\r\n'
    b"RCPT TO:<@relay.example:nvminh@cantho.gov.vn> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y\r\n"
    b"VRFY x\r\nEXPN y\r\n",
    b"EHLO x\r\nAUTH PLAIN AG52bWluaABIb3AtVGh1LTIwMjY=\r\nMAIL FROM:<nvminh@cantho.gov.vn>\r\n"
    b"RCPT TO:<ban@example.org>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\n",
    b"EHLO x\r\nAUTH LOGIN\r\nbnZtaW5o\r\nSG9wLVRodS0yMDI2\r\nMAIL FROM:<nvminh@cantho.gov.vn>\r\n",
    b"EHLO x\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN bnZtaW5o\r\n=\r\nHELP\r\nSTARTTLS\r\n",
    b"EHLO x\r\nMAIL FROM:<ban@example.org>\r\nRCPT TO:<nvminh@cantho.gov.vn>\r\nDATA\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"QUJD\r\n--b--\r\n.\r\n",
    b"EHLO " + b"x" * 2000 + b"\r\nMAIL FROM:<" + b"a" * 300 + b"@example.org>\r\n",
)
TOKENS = (
    b"MAIL FROM:<", b"RCPT TO:<", b"DATA\r\n", b"\r\n.\r\n", b"AUTH PLAIN ", b"AUTH LOGIN ", b"SIZE=",
    b"BODY=8BITMIME", b"SMTPUTF8", b"@cantho.gov.vn>", b"@example.org>", b"<>", b"RSET\r\n", b"EHLO x\r\n",
    b"\x00", b"=", b"\r\n", b'"', b"\\", b"(", b"[127.0.0.1]", b"AG52bWluaABIb3AtVGh1LTIwMjY=",
)  # fmt: skip


class _Context:
    def now(self) -> dt.datetime:
        return dt.datetime(2026, 3, 2, 1, 30, tzinfo=dt.UTC)


class _Router:
    """The directory as the handlers ask it, without a database."""

    ctx = _Context()

    def split(self, address: str) -> tuple[str, str]:
        local, _, domain = address.strip().rpartition("@")
        return local.lower(), domain.lower().rstrip(".")

    def is_local_domain(self, domain: str) -> bool:
        return domain.lower().rstrip(".") == DOMAIN

    async def local(self, address: str) -> LocalRecipient | None:
        local, domain = self.split(address)
        if not self.is_local_domain(domain) or not local or local.startswith("unknown"):
            return None
        return LocalRecipient(1, local, lifecycle.Status.ACTIVE, 10**9, 0)


class _Pipeline:
    """Parses what DATA carried, as the store would, and accepts it."""

    router = _Router()
    report_address = f"dmarc-reports@{DOMAIN}"

    async def accept(self, incoming: Any) -> Outcome:
        parse(canonical(incoming.data))
        return outcome.accepted()


class _Authenticator:
    async def sign_in(
        self, login: str, password: str, *, source: str, protocol: str, client: str = ""
    ) -> Identity:
        if password.encode() != PASSWORD:
            raise SignInRefused(Refusal.BAD_CREDENTIALS, "Sai mật khẩu", "Wrong password")
        return Identity(1, login, f"{login}@{DOMAIN}", "person", login)


class _Accounts:
    async def lock_for_spam(self, local: str, note: str) -> bool:
        return True


class Recorded(Exception):
    """An exception aiosmtpd caught inside a command, raised again so the harness sees it."""


class _Recording:
    """Mixin: aiosmtpd hands a handler the exceptions it caught; keep them."""

    errors: list[BaseException]

    async def handle_exception(self, error: Exception) -> str:
        self.errors.append(error)
        return "500 5.3.0 error"


class _Mx(_Recording, MxHandler):
    pass


class _Submission(_Recording, SubmissionHandler):
    pass


class _Transport(asyncio.Transport):
    """What aiosmtpd writes is kept; closing tells the protocol the connection is gone, once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.protocol: asyncio.Protocol | None = None
        self.output = bytearray()
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.output += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            assert self.protocol is not None
            self.loop.call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


_loop: asyncio.AbstractEventLoop | None = None


def run(data: bytes) -> None:
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
    loop = _loop
    submission = zlib.crc32(data) % 2 == 1
    router, pipeline = _Router(), _Pipeline()
    handler: _Mx | _Submission
    if submission:
        limits = SendingLimits(Limits(per_hour=100, per_day=1000, hard_per_day=5000), accounts=_Accounts())
        handler = _Submission(pipeline, router, _Authenticator(), limits)  # type: ignore[arg-type]
        protocol: SMTP = HopThuSMTP(
            handler, loop=loop, plain_auth_on_loopback=True, auth_required=True, auth_require_tls=True,
            auth_exclude_mechanism=["CRAM-MD5"], **OPTIONS,
        )  # fmt: skip
    else:
        handler = _Mx(pipeline, router)  # type: ignore[arg-type]
        protocol = HopThuSMTP(handler, loop=loop, **OPTIONS)
    handler.errors = []
    transport = _Transport(loop)
    transport.protocol = protocol
    pieces = list(splits(data))

    async def converse() -> None:
        protocol.connection_made(transport)
        rng = random.Random(len(data))
        for piece in pieces:
            protocol.data_received(piece)
            for _ in range(rng.choice((0, 1, 3))):
                await asyncio.sleep(0)
        protocol.eof_received()
        task = protocol._handler_coroutine
        if task is not None:
            await asyncio.wait({task}, timeout=2)
            if not task.done():
                task.cancel()
                transport.close()
                await asyncio.sleep(0)
                raise AssertionError("the session did not end after the client hung up")
            failure = None if task.cancelled() else task.exception()
            if isinstance(failure, Hang):  # the watchdog fired inside the session
                raise failure
            if failure is not None:
                raise Recorded("session task failed") from failure
        if not transport.closing:
            transport.close()
        await asyncio.sleep(0)

    try:
        loop.run_until_complete(converse())
    finally:
        if protocol._timeout_handle is not None:
            protocol._timeout_handle.cancel()
    if handler.errors:
        raise Recorded(f"exception inside a command: {handler.errors[0]!r}") from handler.errors[0]
    if b"Traceback" in transport.output:
        raise AssertionError("a traceback reached the client")


def target() -> Target:
    # aiosmtpd's logger would print every caught exception; the finding carries it instead.
    import logging

    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    logging.getLogger("hopthu").setLevel(logging.CRITICAL)
    return Target("smtp_commands", run, SEEDS, TOKENS, (), max_len=16 * 1024)
