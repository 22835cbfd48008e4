"""The IMAP listeners of `hopthu serve`: STARTTLS on 143 (1143 in development) and implicit TLS on
993 (1993). Each connection is one coroutine (a `Session`), so an idle client costs kilobytes.

Before a session starts, the connection is counted against the IMAP limits (in total and per
address); one over them is greeted with `* BYE` (RFC 9051 §7.1.5) and closed. A connection that has
not signed in within `limits.prelogin_timeout_seconds` of connecting is told so with `* BYE` and
closed, however slowly it drips bytes meanwhile.
"""

from __future__ import annotations

import asyncio
import socket

from hopthu.imap import cmd_mailbox, cmd_message, cmd_session
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

PRELOGIN_EXPIRED = b"* BYE Het thoi gian dang nhap / Sign-in took too long, closing\r\n"


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
                say_and_close(writer.transport, f"* BYE [UNAVAILABLE] {vi} / {en}\r\n".encode())
                return
            session = Session(ctx, reader, writer, tls=tls)
            timer = asyncio.get_running_loop().call_later(
                settings.prelogin_timeout_seconds, _prelogin_expired, session
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


def _prelogin_expired(session: Session) -> None:
    """Still not signed in: the reader sees the close and the session ends as after a hang-up."""
    if session.state == NOT_AUTHENTICATED:
        say_and_close(session.writer.transport, PRELOGIN_EXPIRED)


async def close_sessions(ctx: ImapContext) -> None:
    """Say BYE to every connected client (the server is stopping) and wait for their sessions to end."""
    sessions = list(ctx.sessions)
    await asyncio.gather(*(session.shutdown() for session in sessions), return_exceptions=True)
    tasks = [session.task for session in sessions if session.task is not None]
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=2)
    if pending:  # clients that do not answer the TLS close: drop their connections
        for session in sessions:
            session.writer.transport.abort()
        _done, pending = await asyncio.wait(pending, timeout=2)
    for task in pending:
        task.cancel()
