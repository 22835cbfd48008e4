"""One POP3 conversation, from greeting to QUIT, over any line transport.

The session owns the protocol's rules (RFC 1939 states, RFC 2595 "no password before TLS", RFC 5034
SASL, RFC 2449/3206 response codes) and none of the sockets: the listener gives it a `Transport`,
tests give it a scripted one. Errors are caught once, at the command boundary: a command the client
got wrong is answered -ERR and counted; a refusal carries its response code; anything unexpected is
logged with an incident id and answered -ERR [SYS/TEMP] without detail. A session that ends without
QUIT (idle, disconnect, error) removes nothing (RFC 1939 §6).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from hopthu.directory.auth import Authenticator, Identity, SignInRefused
from hopthu.pop3 import framing
from hopthu.pop3 import replies as r
from hopthu.pop3.commands import ALLOWED, CANCEL, Command, ParseError, State, decode_plain, parse_command
from hopthu.pop3.maildrop import Maildrop, MaildropLocks
from hopthu.store import Store

log = logging.getLogger("hopthu.pop3")

IDLE_TIMEOUT = 10 * 60.0  # RFC 1939 §3: an inactivity autologout timer of at least 10 minutes
MAX_BAD_COMMANDS = 20  # unknown, malformed or out-of-state commands before we hang up
MAX_LONG_LINES = 3  # over-long lines answered -ERR before we hang up
MAX_COMMAND = 255  # RFC 2449 §4: a command line is at most 255 octets with its CRLF
MAX_SASL_LINE = 4096  # a SASL response line (RFC 5034 §4), e.g. PLAIN with a long address and password
MECHANISMS = ("PLAIN",)  # RFC 5034; PLAIN only, and only where a password may be sent


class Disconnected(Exception):
    """The connection is gone (closed, reset, TLS failed, idle too long): nothing more can be sent."""


class LineTooLong(Exception):
    """The client sent a line over the limit; `fatal` when not even its end was found within a bound
    (the transport then cannot tell where the next command starts)."""

    def __init__(self, fatal: bool = False) -> None:
        super().__init__("line too long")
        self.fatal = fatal


class Transport(Protocol):
    """What a session needs of a connection; the listener's wraps asyncio streams."""

    @property
    def peer(self) -> str: ...  # the client's IP address

    @property
    def secure(self) -> bool: ...  # TLS is active

    @property
    def can_start_tls(self) -> bool: ...  # STLS is possible on this connection

    async def read_line(self) -> bytes: ...  # one line with its LF, at most max_sasl_line; LineTooLong

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...  # wait until the client took enough of what was written

    async def start_tls(self) -> None: ...  # Disconnected if the handshake fails

    async def close(self) -> None: ...


@dataclass
class Pop3Service:
    """What every session shares: who signs in, where the mail is, which maildrops are open."""

    authenticator: Authenticator
    store: Store
    locks: MaildropLocks
    plain_login_on_loopback: bool = False  # development only: passwords without TLS from loopback
    max_command: int = MAX_COMMAND  # a command line with its CRLF
    max_sasl_line: int = MAX_SASL_LINE  # a SASL response line; also what the transport reads at most
    idle_timeout: float = IDLE_TIMEOUT
    commands: int = 0  # command lines answered since start, for /metrics


class Session:
    def __init__(self, service: Pop3Service, transport: Transport) -> None:
        self.service = service
        self.transport = transport
        self.state = State.AUTHORIZATION
        self.user: str | None = None  # the name given by USER, until PASS
        self.identity: Identity | None = None
        self.drop: Maildrop | None = None
        self.bad_commands = 0
        self.long_lines = 0
        self._handlers: dict[str, Callable[[Command], Awaitable[bool]]] = {
            verb: getattr(self, f"_{verb.lower()}") for verb in ALLOWED
        }

    async def run(self) -> None:
        """Talk until QUIT, a hang-up, the idle timer or too many bad commands; then clean up."""
        try:
            await self._send(r.GREETING)
            while True:
                try:
                    line = await self._read_line()
                    if len(line) > self.service.max_command:
                        raise LineTooLong
                except LineTooLong as error:
                    if not await self._too_long(error):
                        break
                    continue
                if not await self._handle(line):
                    break
        except Disconnected:
            pass
        except Exception:
            await self._try_send(r.internal_error(_incident("POP3 session failed")))
        finally:
            if self.drop is not None:
                self.service.locks.release(self.drop.mailbox_id)
            await self.transport.close()

    # --- the command boundary ----------------------------------------------------------------------

    async def _too_long(self, error: LineTooLong) -> bool:
        """A line over the limit (RFC 2449 §4) was read and thrown away: -ERR, and after a few, or
        one whose end never came, the connection ends. False ends the session."""
        self.long_lines += 1
        if error.fatal or self.long_lines >= MAX_LONG_LINES:
            await self._try_send(r.LINE_TOO_LONG)
            return False
        await self._send(r.LINE_TOO_LONG_ONCE)
        return True

    async def _handle(self, line: bytes) -> bool:
        """Answer one command line; False ends the session."""
        self.service.commands += 1
        try:
            command = parse_command(line)
        except ParseError as error:
            return await self._bad(r.err(error.text))
        if self.state not in ALLOWED[command.verb]:
            return await self._bad(r.WRONG_STATE)
        try:
            return await self._handlers[command.verb](command)
        except Disconnected:
            raise
        except Exception:
            await self._send(r.internal_error(_incident(f"POP3 {command.verb} failed")))
            return True

    async def _bad(self, reply: r.Reply) -> bool:
        self.bad_commands += 1
        if self.bad_commands >= MAX_BAD_COMMANDS:
            await self._send(r.TOO_MANY_ERRORS)
            return False
        await self._send(reply)
        return True

    # --- I/O with the idle timer -------------------------------------------------------------------

    async def _read_line(self) -> bytes:
        try:
            async with asyncio.timeout(self.service.idle_timeout):
                return await self.transport.read_line()
        except TimeoutError:
            # RFC 1939 §3: an idle client is logged out without a response and without UPDATE.
            raise Disconnected("idle") from None

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(self.service.idle_timeout):
                await self.transport.drain()
        except TimeoutError:
            raise Disconnected("client stopped reading") from None

    async def _send(self, reply: r.Reply, body: Iterable[bytes] = ()) -> None:
        self.transport.write(bytes(reply))
        for piece in body:
            await self._drain()
            self.transport.write(piece)
        await self._drain()

    async def _try_send(self, reply: r.Reply) -> None:
        with contextlib.suppress(Disconnected):
            await self._send(reply)

    # --- AUTHORIZATION state: RFC 1939 §7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4 -------------------

    def _may_send_password(self) -> bool:
        """RFC 2595 §2.2: passwords only under TLS (or from loopback, if a developer allowed it)."""
        if self.transport.secure:
            return True
        return self.service.plain_login_on_loopback and _is_loopback(self.transport.peer)

    async def _capa(self, command: Command) -> bool:
        # RFC 2449 §6, RFC 3206 §6 AUTH-RESP-CODE.
        lines = ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if self.state is State.AUTHORIZATION:
            if self._may_send_password():
                lines += ["USER", "SASL " + " ".join(MECHANISMS)]
            if self.transport.can_start_tls and not self.transport.secure:
                lines.append("STLS")  # RFC 2595 §4
        lines.append("IMPLEMENTATION Hop-Thu")
        await self._send(r.CAPABILITIES, framing.listing(lines))
        return True

    async def _stls(self, command: Command) -> bool:
        if self.transport.secure:
            await self._send(r.ALREADY_TLS)
            return True
        if not self.transport.can_start_tls:
            await self._send(r.NO_TLS_HERE)
            return True
        await self._send(r.BEGIN_TLS)
        await self.transport.start_tls()
        self.user = None  # RFC 2595 §4: nothing said before TLS carries over
        return True

    async def _user(self, command: Command) -> bool:
        if not self._may_send_password():
            await self._send(r.USE_STLS)
            return True
        self.user = command.text  # RFC 1939 §7: +OK whether or not the name exists
        await self._send(r.USER_ACCEPTED)
        return True

    async def _pass(self, command: Command) -> bool:
        if not self._may_send_password():
            await self._send(r.USE_STLS)
            return True
        if self.user is None:
            await self._send(r.PASS_WITHOUT_USER)
            return True
        login, self.user = self.user, None
        await self._sign_in(login, command.text)
        return True

    async def _auth(self, command: Command) -> bool:
        if not self._may_send_password():
            await self._send(r.USE_STLS)
            return True
        if not command.text:  # the mechanism list many clients ask for first (as RFC 1734 servers gave)
            await self._send(r.MECHANISMS, framing.listing(MECHANISMS))
            return True
        if command.text not in MECHANISMS:
            await self._send(r.UNSUPPORTED_MECHANISM)
            return True
        response = command.initial
        if response is None:
            self.transport.write(b"+ \r\n")  # RFC 5034 §4: an empty server challenge
            await self._drain()
            try:
                line = await self._read_line()
            except LineTooLong:
                await self._send(r.err("Phản hồi SASL quá dài / SASL response too long"))
                return True
            response = line.rstrip(b"\r\n").decode("ascii", "replace")
            if response == CANCEL:
                await self._send(r.AUTH_CANCELLED)
                return True
        try:
            authzid, login, password = decode_plain(response)
        except ParseError as error:
            await self._send(r.err(error.text))
            return True
        await self._sign_in(login, password, authzid)
        return True

    async def _sign_in(self, login: str, password: str, authzid: str = "") -> None:
        service = self.service
        try:
            identity = await service.authenticator.sign_in(
                login, password, source=self.transport.peer, protocol="pop3"
            )
        except SignInRefused as refused:
            await self._send(r.SIGN_IN_REFUSED.explaining(refused))  # RFC 3206 §4
            return
        if authzid and authzid.lower() not in (identity.local, identity.address):
            await self._send(r.PROXY_AUTH_REFUSED)  # RFC 4616 §2: we act for nobody else
            return
        box = await service.store.mail.mailbox(identity.account_id, "INBOX")
        if box is None:
            await self._send(r.NO_INBOX)
            return
        if not service.locks.acquire(box.id):
            await self._send(r.IN_USE)  # RFC 2449 §8.1.2
            return
        try:
            drop = await Maildrop.open(service.store, box)
        except BaseException:
            service.locks.release(box.id)
            raise
        self.identity, self.drop, self.state = identity, drop, State.TRANSACTION
        count, octets = drop.stat()
        await self._send(r.signed_in(count, octets))

    # --- TRANSACTION state: RFC 1939 §5, §7 --------------------------------------------------------

    async def _stat(self, command: Command) -> bool:
        assert self.drop is not None
        await self._send(r.stat(*self.drop.stat()))
        return True

    async def _list(self, command: Command) -> bool:
        drop = self.drop
        assert drop is not None
        if command.number is not None:
            if await self._check(command.number):
                await self._send(r.scan_line(command.number, drop.size(command.number)))
            return True
        count, octets = drop.stat()
        lines = (f"{n} {drop.size(n)}" for n in drop.numbers())
        await self._send(r.listing(count, octets), framing.listing(lines))
        return True

    async def _uidl(self, command: Command) -> bool:
        drop = self.drop
        assert drop is not None
        if command.number is not None:
            if await self._check(command.number):
                await self._send(r.unique_id_line(command.number, drop.unique_id(command.number)))
            return True
        lines = (f"{n} {drop.unique_id(n)}" for n in drop.numbers())
        await self._send(r.UNIQUE_IDS, framing.listing(lines))
        return True

    async def _retr(self, command: Command) -> bool:
        data = await self._message(command.number)
        if data is not None:
            await self._send(r.message_follows(len(data)), framing.stuffed(data))
        return True

    async def _top(self, command: Command) -> bool:
        data = await self._message(command.number)
        if data is not None:
            assert command.lines is not None
            await self._send(r.TOP_FOLLOWS, framing.stuffed(framing.top(data, command.lines)))
        return True

    async def _dele(self, command: Command) -> bool:
        assert self.drop is not None and command.number is not None
        if await self._check(command.number):
            self.drop.delete(command.number)
            await self._send(r.DELETED)
        return True

    async def _noop(self, command: Command) -> bool:
        await self._send(r.NOOP)
        return True

    async def _rset(self, command: Command) -> bool:
        assert self.drop is not None
        self.drop.reset()
        await self._send(r.reset(*self.drop.stat()))
        return True

    async def _quit(self, command: Command) -> bool:
        drop = self.drop
        if drop is None:  # RFC 1939 §6 QUIT in the AUTHORIZATION state
            await self._send(r.SIGNED_OFF)
            return False
        # RFC 1939 §6: the UPDATE state removes what was marked, then the connection closes.
        uids = drop.deleted_uids()
        try:
            await self.service.store.mail.expunge(drop.mailbox_id, uids)
        except Exception:
            _incident("POP3 UPDATE failed")
            await self._send(r.NOT_REMOVED)
            return False
        await self._send(r.signed_off(drop.stat()[0]))
        return False

    async def _check(self, number: int) -> bool:
        """Whether `number` names a message of this session; if not, the client is told why."""
        assert self.drop is not None
        if self.drop.exists(number):
            return True
        await self._send(r.ALREADY_DELETED if self.drop.in_range(number) else r.NO_SUCH_MESSAGE)
        return False

    async def _message(self, number: int | None) -> bytes | None:
        """The bytes of message `number`, or None once the client was told it cannot have them."""
        assert self.drop is not None and number is not None
        if not await self._check(number):
            return None
        data = await self.service.store.mail.message_bytes(self.drop.mailbox_id, self.drop.uid(number))
        if data is None:
            await self._send(r.EXPUNGED)  # removed by IMAP or webmail since this session began
        return data


def _incident(what: str) -> str:
    """Log the exception being handled under a short id the client is given instead of details."""
    incident = secrets.token_hex(4)
    log.exception("%s (incident %s)", what, incident)
    return incident


def _is_loopback(ip: str) -> bool:
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # RFC 4291 §2.5.5.2
    return address.is_loopback
