"""aiosmtpd handlers for the MX and submission listeners. They only translate SMTP into questions for
the directory (who is this recipient, may this person send as that address) and the pipeline.

MX (RFC 5321): mail for our domains only, no relaying; unknown recipients refused at RCPT (550
5.1.1), revoked or deleted mailboxes 550 5.2.1 (R6.4), full ones 452 4.2.2 for that recipient only
(R5.1). Submission (RFC 6409): AUTH first (RFC 4954, PLAIN and LOGIN, only over TLS), the envelope
sender must be an address the person may send as (R3.2, R8.2), recipients counted against the
sending limits (R3.1).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import re
import secrets
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session, syntax

from hopthu.directory.auth import Authenticator, Identity, Refusal, SignInRefused
from hopthu.directory.routing import LocalRecipient, Router
from hopthu.directory.senders import send_as
from hopthu.policy.quota import fits
from hopthu.policy.sending import Verdict
from hopthu.security.connections import ConnectionLimits, peer_address, refusal_words, say_and_close
from hopthu.smtp import replies
from hopthu.smtp.dataread import Overrun, read_data
from hopthu.smtp.limits import SendingLimits
from hopthu.smtp.outcome import Outcome
from hopthu.smtp.pipeline import Incoming, Pipeline
from hopthu.smtp.replies import Reply

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 1000
_PLAIN_PATH = re.compile(r"\s*<([A-Za-z0-9._+=-]{1,64}@[A-Za-z0-9.-]{1,255})>(.*)\Z", re.DOTALL)


def _peer_ip(session: Session) -> str:
    peer = session.peer
    return peer[0] if isinstance(peer, tuple) else str(peer or "")


def _size_option(options: list[str]) -> int:
    for option in options:
        key, _, value = option.partition("=")
        if key.upper() == "SIZE" and value.isdigit():
            return int(value)
    return 0


class HopThuSMTP(SMTP):
    """aiosmtpd's protocol, knowing whether this connection is already TLS (port 465) and whether a
    loopback client may authenticate without TLS (development only), and keeping the listener's
    bounds: connections counted per address and in total, a deadline to reach MAIL, and DATA read
    by our own reader (long lines accepted up to `max_line`, the message bounded while it is read)."""

    def __init__(
        self,
        handler: Any,
        *,
        implicit_tls: bool = False,
        plain_auth_on_loopback: bool = False,
        connections: ConnectionLimits | None = None,
        prelogin_timeout: float | None = None,
        max_line: int = 1000,
        live: set[HopThuSMTP] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self.live = live  # the listener's open sessions, so that a stopping server can end them
        self.implicit_tls = implicit_tls
        self.plain_auth_on_loopback = plain_auth_on_loopback
        self.connections = connections
        self.prelogin_timeout = prelogin_timeout
        self.max_line = max_line
        self._counted: str | None = None  # the address admitted, released once at the close
        self._refusal: str | None = None  # the 421 to give instead of the greeting
        self._prelogin: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        first = self.transport is None  # STARTTLS calls this again with the TLS transport
        super().connection_made(transport)
        if first:
            self._admit(transport)
            if self.live is not None:
                self.live.add(self)
        if self.implicit_tls:
            self._auth_require_tls = False  # the whole connection is TLS already
        elif self.plain_auth_on_loopback:
            peer = transport.get_extra_info("peername")
            loopback = bool(peer) and ipaddress.ip_address(peer[0]).is_loopback
            self._auth_require_tls = not loopback

    def _admit(self, transport: Any) -> None:
        if self.connections is not None:
            address = peer_address(transport)
            refusal = self.connections.admit(address)
            if refusal is not None:
                vi, en = refusal_words(refusal)
                self._refusal = str(replies.TOO_MANY_CONNECTIONS.with_text(f"{self.hostname} {vi} / {en}"))
                return
            self._counted = address
        if self.prelogin_timeout is not None:
            self._prelogin = self.loop.call_later(self.prelogin_timeout, self._prelogin_expired)

    def connection_lost(self, error: Exception | None) -> None:
        if self._prelogin is not None:
            self._prelogin.cancel()
        if self._counted is not None and self.connections is not None:
            self.connections.release(self._counted)
            self._counted = None
        if self.live is not None:
            self.live.discard(self)
        super().connection_lost(error)

    def wind_down(self) -> bool:
        """The server is stopping. A session between transactions is told so with a 421 (RFC 5321
        §3.8) and closed: True. One with a transaction under way (MAIL given, perhaps its DATA being
        read or delivered) is left to finish it: False, and the caller asks again later."""
        if self.envelope is not None and self.envelope.mail_from is not None:
            return False
        if self.transport is not None:
            reply = replies.SHUTTING_DOWN
            text = str(reply.with_text(f"{self.hostname} {reply.text}"))
            say_and_close(self.transport, text.encode() + b"\r\n")
        return True

    def drop(self) -> None:
        """Close at once, whatever is under way: the grace period is over. A message not yet
        answered 250 is the sender's to send again."""
        if self.transport is not None:
            self.transport.abort()

    async def _handle_client(self) -> None:
        if self._refusal is not None:  # RFC 5321 §3.1: a 421 instead of the greeting, then the close
            assert self.transport is not None
            say_and_close(self.transport, self._refusal.encode() + b"\r\n")
            return
        await super()._handle_client()

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        """Every command that reaches its hook (aiosmtpd's; syntax already checked): counted for /metrics."""
        if self.connections is not None:
            self.connections.commands += 1
        return await super()._call_handler_hook(command, *args)

    def mail_started(self) -> None:
        """MAIL FROM was accepted (after AUTH, on submission): the pre-login deadline no longer runs."""
        if self._prelogin is not None:
            self._prelogin.cancel()
            self._prelogin = None

    def _prelogin_expired(self) -> None:
        self._prelogin = None
        if self.transport is not None:
            reply = replies.PRELOGIN_TIMEOUT
            text = str(reply.with_text(f"{self.hostname} {reply.text}"))
            say_and_close(self.transport, text.encode() + b"\r\n")

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """RFC 5321 §4.1.1.4, with aiosmtpd's checks before and its hook after, and our reader."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        if arg:
            await self.push("501 5.5.4 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        read = await read_data(self._reader, max_size=self.data_size_limit or 2**62, max_line=self.max_line)
        if read.overrun is not None:
            if read.overrun is Overrun.LINE:
                reply = replies.LINE_TOO_LONG
                limit = self.max_line
            else:
                reply = replies.MESSAGE_TOO_BIG
                limit = self.data_size_limit or 0
            self._set_post_data_state()
            await self.push(str(reply.with_text(f"{reply.text} (> {limit} bytes)")))
            return
        self.envelope.content = self.envelope.original_content = read.content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    @property
    def secure(self) -> bool:
        return self.implicit_tls or self._tls_protocol is not None

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """`<local@domain> REST` read directly (RFC 5321 §4.1.2 Path); anything less plain goes to
        aiosmtpd's full RFC 5322 parser, which is correct but costs a tenth of a millisecond."""
        match = _PLAIN_PATH.match(arg)
        if match is None:
            try:
                return super()._getaddr(arg)
            except (IndexError, ValueError, AttributeError):  # the standard library's parser tripping
                return None, None  # on a broken path ("<a@", a defect without a value): bad syntax
        return match.group(1), match.group(2)


class MxHandler:
    """Mail from the world for our people."""

    channel = "mx"

    def __init__(self, pipeline: Pipeline, router: Router) -> None:
        self.pipeline = pipeline
        self.router = router

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        # RFC 2920 and RFC 2034: aiosmtpd reads pipelined commands and we give enhanced codes.
        return [*responses[:-1], "250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250 HELP"]

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        if isinstance(server, HopThuSMTP):
            server.mail_started()
        return str(replies.SENDER_OK)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return str(replies.TOO_MANY_RECIPIENTS)
        reply = await self.check_recipient(session, envelope, address)
        if reply.code == 250:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
        return str(reply)

    async def check_recipient(self, session: Session, envelope: Envelope, address: str) -> Reply:
        local = await self._lookup(envelope, address)
        if local is None:
            _, domain = self.router.split(address)
            if not self.router.is_local_domain(domain):
                return replies.RELAY_DENIED
            # DMARC aggregate reports about our domains are read by the server itself (pipeline).
            return (
                replies.RECIPIENT_OK
                if address.lower() == self.pipeline.report_address
                else replies.NO_SUCH_USER
            )
        if not local.receives:  # R6.4: revoked and deleted mailboxes refuse; locked ones still receive
            return replies.MAILBOX_DISABLED
        if not fits(local.usage, local.quota, _size_option(envelope.mail_options)):
            return replies.MAILBOX_FULL  # R5.1, for this recipient only
        return replies.RECIPIENT_OK

    async def _lookup(self, envelope: Envelope, address: str) -> LocalRecipient | None:
        """The local recipient behind `address`, remembered on the envelope for DATA."""
        local = await self.router.local(address)
        if local is not None:
            known = getattr(envelope, "known", None)
            if known is None:
                known = envelope.known = {}
            known[address] = local
        return local

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        incoming = Incoming(
            data=envelope.original_content or envelope.content,
            mail_from=envelope.mail_from or "",
            recipients=list(envelope.rcpt_tos),
            channel=self.channel,
            client_ip=_peer_ip(session),
            helo=session.host_name or "",
            identity=session.auth_data if session.authenticated else None,
            tls=getattr(server, "secure", False),
            received_at=self.pipeline.router.ctx.now(),
            known=getattr(envelope, "known", {}),
        )
        try:
            outcome = await self.pipeline.accept(incoming)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("delivery failed (incident %s)", incident)
            return str(replies.TEMPORARY_FAILURE.with_text(f"{replies.TEMPORARY_FAILURE.text} ({incident})"))
        self.after_data(session, envelope, outcome)
        return str(replies.for_outcome(outcome))

    def after_data(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        """Hook for submission: give back counted recipients when the message was refused."""


class SubmissionHandler(MxHandler):
    """Mail our own people send (ports 587 and 465)."""

    channel = "submission"

    def __init__(
        self,
        pipeline: Pipeline,
        router: Router,
        authenticator: Authenticator,
        limits: SendingLimits,
    ) -> None:
        super().__init__(pipeline, router)
        self.authenticator = authenticator
        self.limits = limits  # R3.1 counted and decided there, the lock (R6.4a) included

    # --- AUTH (RFC 4954) ---------------------------------------------------------------------------

    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        """RFC 4616: authzid NUL authcid NUL password, as an initial response or after a 334."""
        if len(args) > 1:
            try:
                blob = b"" if args[1] == "=" else base64.b64decode(args[1], validate=True)
            except ValueError:  # binascii.Error, and a str of non-ASCII characters
                return AuthResult(success=False, handled=False, message=str(replies.BAD_SYNTAX))
        else:
            answer = await _challenge(server, "", encode_to_b64=False)
            if isinstance(answer, AuthResult):
                return answer
            blob = answer
        parts = blob.split(b"\0")
        if len(parts) != 3:
            return AuthResult(success=False, handled=False, message=str(replies.BAD_SYNTAX))
        return await self._sign_in(server, parts[1], parts[2])

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) > 1:
            try:
                login: Any = base64.b64decode(args[1], validate=True)
            except ValueError:  # binascii.Error, and a str of non-ASCII characters
                return AuthResult(success=False, handled=False, message=str(replies.BAD_SYNTAX))
        else:
            login = await _challenge(server, "Username:")
        if isinstance(login, AuthResult):
            return login
        password = await _challenge(server, "Password:")
        if isinstance(password, AuthResult):
            return password
        return await self._sign_in(server, login, password)

    async def _sign_in(self, server: SMTP, login: bytes, password: bytes) -> AuthResult:
        try:
            identity = await self.authenticator.sign_in(
                login.decode("utf-8", "replace"),
                password.decode("utf-8", "replace"),
                source=_peer_ip(server.session),
                protocol="submission",
                client=(server.session.host_name if server.session else None) or "",  # the EHLO name given
            )
        except SignInRefused as refused:
            return AuthResult(success=False, handled=False, message=str(_auth_reply(refused)))
        return AuthResult(success=True, auth_data=identity, message=str(replies.AUTH_OK))

    # --- envelope ----------------------------------------------------------------------------------

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        identity: Identity | None = session.auth_data if session.authenticated else None
        if identity is None:
            return str(replies.AUTH_REQUIRED)
        if await send_as(self.router, identity, address) is None:
            return str(replies.SENDER_NOT_ALLOWED)
        return await super().handle_MAIL(server, session, envelope, address, options)

    async def check_recipient(self, session: Session, envelope: Envelope, address: str) -> Reply:
        _, domain = self.router.split(address)
        if self.router.is_local_domain(domain):
            local = await self._lookup(envelope, address)
            if local is None:
                return replies.NO_SUCH_USER
            if not local.receives:
                return replies.MAILBOX_DISABLED
        identity: Identity = session.auth_data
        verdict = await self.limits.admit(identity.account_id, identity.local)
        if verdict is Verdict.LOCK:
            return replies.ACCOUNT_LOCKED_FOR_SPAM
        if verdict is Verdict.DEFER:
            return replies.RATE_LIMITED
        return replies.RECIPIENT_OK

    def after_data(self, session: Session, envelope: Envelope, outcome: Outcome) -> None:
        if not outcome.accepted and envelope.rcpt_tos and session.authenticated:
            self.limits.release(session.auth_data.account_id, len(envelope.rcpt_tos))


def _auth_reply(refused: SignInRefused) -> Reply:
    if refused.refusal is Refusal.MUST_CHANGE_PASSWORD:
        return replies.PASSWORD_CHANGE_NEEDED.explaining(refused)
    if refused.refusal is Refusal.THROTTLED:
        return replies.AUTH_THROTTLED
    if refused.refusal is Refusal.BAD_CREDENTIALS:
        return replies.AUTH_FAILED
    return replies.ACCOUNT_UNAVAILABLE.explaining(refused)


async def _challenge(server: SMTP, prompt: str, **options: Any) -> bytes | AuthResult:
    """The client's answer to a 334 challenge (RFC 4954 §4), or the result that ends the exchange.

    A line over the stream's limit is a syntax error: asyncio's readline raises ValueError for it
    (having dropped the line), which aiosmtpd would answer with the exception's own words."""
    try:
        answer = await server.challenge_auth(prompt, **options)
    except ValueError:
        return AuthResult(success=False, handled=False, message=str(replies.BAD_SYNTAX))
    return answer if isinstance(answer, bytes) else AuthResult(success=False, handled=True)
