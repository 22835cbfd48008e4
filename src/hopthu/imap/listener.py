"""The IMAP listeners of `hopthu serve`: STARTTLS on 143 (1143 in development) and implicit TLS on
993 (1993). Each connection is one coroutine (a `Session`), so an idle client costs kilobytes."""

from __future__ import annotations

import asyncio
import socket

from hopthu.imap import cmd_mailbox, cmd_message, cmd_session
from hopthu.imap.session import ImapContext, Session

# Importing the command modules registers their handlers.
COMMAND_MODULES = (cmd_session, cmd_mailbox, cmd_message)


async def start_imap_listeners(ctx: ImapContext, sockets: dict[str, socket.socket]) -> list[asyncio.Server]:
    """One asyncio server per role found in `sockets`: "imap" (STARTTLS offered), "imaps" (TLS)."""
    servers = []
    for role, sock in sockets.items():
        implicit = role == "imaps"

        async def serve(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tls: bool = implicit
        ) -> None:
            await Session(ctx, reader, writer, tls=tls).run()

        servers.append(await asyncio.start_server(serve, sock=sock, ssl=ctx.tls if implicit else None))
    return servers


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
