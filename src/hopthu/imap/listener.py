"""The IMAP listeners of `hopthu serve`: STARTTLS on 143 (1143 in development) and implicit TLS on
993 (1993). Each connection is one coroutine (a `Session`), so an idle client costs kilobytes.

Before a session starts, the connection is counted against the IMAP limits (in total and per
address); one over them is greeted with `* BYE` (RFC 9051 §7.1.5) and closed. A connection that has
not signed in within `limits.prelogin_timeout_seconds` of connecting is told so with `* BYE` and
closed, however slowly it drips bytes meanwhile.

The session talks to a `Transport` (`hopthu.imap.transport`); `StreamTransport` here is the one
over asyncio streams, upgraded in place by STARTTLS.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable

from hopthu.imap import cmd_mailbox, cmd_message, cmd_session
from hopthu.imap import responses as r
from hopthu.imap.session import ImapContext, Session
from hopthu.imap.state import NOT_AUTHENTICATED
from hopthu.security.connections import (
    ConnectionLimits,
    peer_address,
    refusal_words,
    say_and_close,
)

# Importing the command modules registers their handlers.
COMMAND_MODULES = (cmd_session, cmd_mailbox, cmd_message)

READ_SIZE = 64 * 1024  # what one read takes from the socket; the parser's limits bound a command
CLOSE_TIMEOUT = 5.0  # seconds to wait for the client's TLS close_notify before dropping the connection

log = logging.getLogger("hopthu.imap")


class StreamTransport:
    """A session's `Transport` over an asyncio stream pair; STARTTLS upgrades it in place."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tls_context: ssl.SSLContext,
        *,
        secure: bool,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._tls_context = tls_context
        self._secure = secure
        peer = writer.get_extra_info("peername")
        self._peer = str(peer[0]) if peer else "?"
        self._input_waiter: asyncio.Future[None] | None = None  # ours in the reader, for `on_input`

    @property
    def peer(self) -> str:
        return self._peer

    @property
    def secure(self) -> bool:
        return self._secure

    async def read(self) -> bytes:
        return await self._reader.read(READ_SIZE)

    def has_input(self) -> bool:
        reader = self._reader
        return bool(getattr(reader, "_buffer", b"")) or reader.at_eof() or reader.exception() is not None

    def on_input(self, callback: Callable[[], None] | None) -> None:
        """The reader wakes its one waiter (`_waiter`, a future) on data, the end or an error; here
        that waiter is a future of ours whose completion calls `callback`. Read only after this is
        forgotten (`on_input(None)`): a read installs its own waiter."""
        reader = self._reader
        if self._input_waiter is not None:
            if getattr(reader, "_waiter", None) is self._input_waiter:
                reader._waiter = None  # type: ignore[attr-defined]
            self._input_waiter.cancel()
            self._input_waiter = None
        if callback is None:
            return

        def arrived(done: asyncio.Future[None]) -> None:
            if not done.cancelled():
                done.exception()  # an error is the next read's to raise; seen here, not logged
                callback()

        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter.add_done_callback(arrived)
        reader._waiter = self._input_waiter = waiter  # type: ignore[attr-defined]

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    async def start_tls(self) -> None:
        """RFC 9051 §6.2.1 after "OK Begin TLS". Plain-text bytes already received must not be read
        as commands after the handshake (command injection, CVE-2011-0411); asyncio offers no public
        way to drop them, so its reader's buffer is emptied here, with nothing awaited between this
        and `start_tls` pausing the socket."""
        buffered = getattr(self._reader, "_buffer", None)
        if buffered:
            log.info("IMAP client %s sent %d bytes after STARTTLS; discarded", self._peer, len(buffered))
            buffered.clear()
        await self._writer.start_tls(self._tls_context)
        self._secure = True

    def is_closing(self) -> bool:
        return self._writer.is_closing()

    def close(self) -> None:
        self._writer.close()

    async def wait_closed(self) -> None:
        try:
            # A client that never answers the TLS close must not keep the session's task alive.
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._writer.wait_closed()
        except TimeoutError:
            self.abort()
        except Exception:  # the connection is gone either way
            pass

    def abort(self) -> None:
        self._writer.transport.abort()


async def start_imap_listeners(
    ctx: ImapContext, sockets: dict[str, socket.socket], limits: ConnectionLimits | None = None
) -> list[asyncio.Server]:
    """One asyncio server per role found in `sockets`: "imap" (STARTTLS offered), "imaps" (TLS)."""
    settings = ctx.settings.limits
    if limits is None:
        limits = ConnectionLimits(
            "imap", total=settings.imap_connections, per_address=settings.imap_connections_per_address
        )
    servers = []
    for role, sock in sockets.items():
        implicit = role == "imaps"

        async def serve(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool = implicit
        ) -> None:
            address = peer_address(writer.transport)
            refusal = limits.admit(address)
            if refusal is not None:
                vi, en = refusal_words(refusal)
                say_and_close(writer.transport, bytes(r.connection_refused(vi, en)))
                return
            session = Session(ctx, StreamTransport(reader, writer, ctx.tls, secure=tls))
            timer = asyncio.get_running_loop().call_later(
                settings.prelogin_timeout_seconds, _prelogin_expired, session, writer
            )
            try:
                await session.run()
            finally:
                timer.cancel()
                limits.release(address)

        # A TLS handshake that never completes is not yet counted: it gets the pre-login time too.
        handshake = settings.prelogin_timeout_seconds if implicit else None
        servers.append(
            await asyncio.start_server(
                serve, sock=sock, ssl=ctx.tls if implicit else None, ssl_handshake_timeout=handshake
            )
        )
    return servers


def _prelogin_expired(session: Session, writer: asyncio.StreamWriter) -> None:
    """Still not signed in: the reader sees the close and the session ends as after a hang-up."""
    if session.state == NOT_AUTHENTICATED:
        say_and_close(writer.transport, bytes(r.PRELOGIN_EXPIRED))


async def close_sessions(ctx: ImapContext, grace: float = 4.0) -> None:
    """Say BYE to every connected client (the server is stopping) and wait up to `grace` seconds for
    their sessions to end; then drop the connections left (a client that does not read, or does not
    answer the TLS close), so no goodbye waits on a full send buffer for ever."""
    sessions = list(ctx.sessions)
    goodbyes = [asyncio.ensure_future(session.shutdown()) for session in sessions]
    tasks = [session.task for session in sessions if session.task is not None]
    if not goodbyes and not tasks:
        return
    _done, pending = await asyncio.wait([*goodbyes, *tasks], timeout=max(grace - 1, 0.1))
    if pending:
        for session in sessions:
            session.transport.abort()
        _done, pending = await asyncio.wait(pending, timeout=1)
    for task in pending:
        task.cancel()
