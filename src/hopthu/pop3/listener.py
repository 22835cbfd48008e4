"""The POP3 listeners of `hopthu serve`: port 110-style with STLS offered, and 995-style implicit TLS.

Both run on the process's one event loop and share one `Pop3Service`, so the maildrop lock holds
across them. Each connection gets a `Session` over asyncio streams; the stream's buffer limit is the
line limit, so a connection holds little more than one command line until it asks for a message.

Before a session starts, the connection is counted against the POP3 limits (in total and per
address); one over them is answered `-ERR [SYS/TEMP]` (RFC 3206 §4) and closed. A connection still in
the AUTHORIZATION state `limits.prelogin_timeout_seconds` after connecting is told so and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import dataclass, field

from hopthu.config import Settings
from hopthu.directory.auth import Authenticator
from hopthu.pop3 import replies as r
from hopthu.pop3.commands import State
from hopthu.pop3.maildrop import MaildropLocks
from hopthu.pop3.session import Disconnected, LineTooLong, Pop3Service, Session
from hopthu.security.connections import ConnectionLimits, peer_address, refusal_words, say_and_close
from hopthu.smtp.listeners import server_tls_context
from hopthu.store import Store

log = logging.getLogger("hopthu.pop3")

ROLES = ("pop3", "pop3s")
CLOSE_TIMEOUT = 5.0  # seconds to wait for a TLS close_notify before dropping the connection
DISCARD_MAX = 64 * 1024  # bytes of one over-long line thrown away while looking for its end
PRELOGIN_EXPIRED = r.err("Hết thời gian đăng nhập, đóng kết nối / Sign-in took too long, closing")


class StreamTransport:
    """A `Transport` over an asyncio stream pair, upgraded in place by STLS."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tls_context: ssl.SSLContext | None,
        *,
        secure: bool,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._tls_context = tls_context
        self._secure = secure
        peer = writer.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else ""

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def secure(self) -> bool:
        return self._secure

    @property
    def can_start_tls(self) -> bool:
        return not self._secure and self._tls_context is not None

    async def read_line(self) -> bytes:
        try:
            return await self._reader.readuntil(b"\n")
        except asyncio.LimitOverrunError as overrun:
            await self._discard_line(overrun.consumed)
            raise LineTooLong from None
        except asyncio.IncompleteReadError:
            raise Disconnected("closed by the client") from None
        except OSError as error:  # reset, TLS errors (ssl.SSLError is an OSError)
            raise Disconnected(str(error)) from None

    async def _discard_line(self, consumed: int) -> None:
        """Throw away the rest of an over-long line so the next command can be read; one whose end
        does not come within DISCARD_MAX bytes ends the connection (LineTooLong(fatal=True))."""
        dropped = 0
        while True:
            try:
                await self._reader.readexactly(consumed)
                dropped += consumed
                if dropped > DISCARD_MAX:
                    raise LineTooLong(fatal=True)
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as overrun:
                consumed = overrun.consumed
            except asyncio.IncompleteReadError:
                raise Disconnected("closed by the client") from None
            except OSError as error:
                raise Disconnected(str(error)) from None

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def drain(self) -> None:
        try:
            await self._writer.drain()
        except OSError as error:
            raise Disconnected(str(error)) from None

    async def start_tls(self) -> None:
        assert self._tls_context is not None
        await self.drain()
        # RFC 2595 §4, and the STARTTLS command injection of CVE-2011-0411: bytes the client sent in
        # plain text after STLS must never be read as if they had come over TLS. asyncio offers no
        # public way to drop them, so its reader's buffer is emptied here, with nothing awaited
        # between this and `start_tls` pausing the socket.
        buffered = getattr(self._reader, "_buffer", None)
        if buffered:
            log.info("POP3 client %s sent %d bytes after STLS; discarded", self._peer, len(buffered))
            buffered.clear()
        try:
            await self._writer.start_tls(self._tls_context)
        except Exception as error:  # whatever failed the handshake, the connection is unusable
            raise Disconnected(f"TLS handshake failed: {error!r}") from None
        self._secure = True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self._writer.close()
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._writer.wait_closed()


@dataclass
class Pop3Listeners:
    """The POP3 servers of a process and the connections they hold, so a stop can end them."""

    servers: list[asyncio.Server] = field(default_factory=list)
    connections: dict[asyncio.Task[None], asyncio.StreamWriter] = field(default_factory=dict)
    service: Pop3Service | None = None  # what the sessions share (its command count, for /metrics)

    async def close(self, grace: float = 5.0) -> None:
        """Drop every open session (nothing is deleted without QUIT, RFC 1939 §6) and wait for them,
        up to `grace` seconds."""
        for server in self.servers:
            server.close()
        for writer in list(self.connections.values()):
            writer.transport.abort()
        if self.connections:
            await asyncio.wait(list(self.connections), timeout=max(grace, 0.1))


async def start_pop3_listeners(
    settings: Settings,
    authenticator: Authenticator,
    store: Store,
    sockets: dict[str, socket.socket],
    limits: ConnectionLimits | None = None,
    tls: ssl.SSLContext | None = None,
) -> Pop3Listeners:
    """One asyncio server per role found in `sockets`: "pop3" (STLS offered), "pop3s" (implicit TLS);
    `tls` is the process's one context (`security.tls`), else one of the configured certificate."""
    unknown = set(sockets) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown POP3 listener roles: {sorted(unknown)}")
    tls = tls or server_tls_context(settings)
    service = Pop3Service(
        authenticator,
        store,
        MaildropLocks(),
        plain_login_on_loopback=settings.imap.allow_plain_login_on_loopback,
        max_command=settings.pop3.max_command,
        max_sasl_line=max(settings.pop3.max_sasl_line, settings.pop3.max_command),
    )
    if limits is None:
        limits = ConnectionLimits(
            "pop3",
            total=settings.limits.pop3_connections,
            per_address=settings.limits.pop3_connections_per_address,
        )
    listeners = Pop3Listeners(service=service)
    gate = _Gate(limits, settings.limits.prelogin_timeout_seconds)
    for role, sock in sockets.items():
        implicit = role == "pop3s"
        listeners.servers.append(
            await asyncio.start_server(
                _connection_handler(service, tls, listeners, gate, implicit=implicit),
                sock=sock,
                ssl=tls if implicit else None,
                limit=service.max_sasl_line,  # what one connection holds of a line it reads
                # a TLS handshake that never completes is not yet counted: it gets the pre-login time
                ssl_handshake_timeout=gate.prelogin_timeout if implicit else None,
            )
        )
    return listeners


@dataclass(frozen=True)
class _Gate:
    limits: ConnectionLimits
    prelogin_timeout: float


def _connection_handler(
    service: Pop3Service, tls: ssl.SSLContext, listeners: Pop3Listeners, gate: _Gate, *, implicit: bool
):
    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = peer_address(writer.transport)
        refusal = gate.limits.admit(address)
        if refusal is not None:
            vi, en = refusal_words(refusal)
            say_and_close(writer.transport, bytes(r.err(f"{vi} / {en}", "SYS/TEMP")))
            return
        task = asyncio.current_task()
        assert task is not None
        listeners.connections[task] = writer
        transport = StreamTransport(reader, writer, None if implicit else tls, secure=implicit)
        session = Session(service, transport)
        timer = asyncio.get_running_loop().call_later(
            gate.prelogin_timeout, _prelogin_expired, session, writer
        )
        try:
            await session.run()
        finally:
            timer.cancel()
            gate.limits.release(address)
            del listeners.connections[task]

    return connected


def _prelogin_expired(session: Session, writer: asyncio.StreamWriter) -> None:
    """Still in AUTHORIZATION: the pending read sees the close and the session ends as after a hang-up."""
    if session.state is State.AUTHORIZATION:
        say_and_close(writer.transport, bytes(PRELOGIN_EXPIRED))
