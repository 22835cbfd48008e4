"""Change events between nodes over PostgreSQL LISTEN/NOTIFY (DESIGN: scale-out).

Each node keeps one connection that LISTENs on one channel. A change committed on a node is sent
with `pg_notify` after the commit, in order, from one sender task; the other nodes put it on their
in-process bus. Payloads stay under PostgreSQL's 8,000-byte limit: a change naming too many UIDs
travels without them, and a receiving session then compares its mailbox with the store (the
counters tell it what it missed). Sessions are told apart across nodes by the node id in `origin`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import sqlalchemy as sa

from hopthu.store.events import Change, EventBus

log = logging.getLogger(__name__)

CHANNEL = "hopthu_changes"
MAX_PAYLOAD = 7000


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy URL (postgresql+asyncpg://...) as asyncpg's DSN."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def encode(change: Change, node: str) -> str:
    payload = {
        "n": node,
        "a": change.account_id,
        "m": change.mailbox_id,
        "k": change.kind,
        "u": list(change.uids),
        "s": change.modseq,
        "o": change.origin,
    }
    text = json.dumps(payload, separators=(",", ":"))
    if len(text) > MAX_PAYLOAD:
        payload["u"] = []
        text = json.dumps(payload, separators=(",", ":"))
    return text


def decode(text: str) -> tuple[str, Change]:
    value: dict[str, Any] = json.loads(text)
    change = Change(value["a"], value["m"], value["k"], tuple(value["u"]), value["s"], value["o"])
    return value["n"], change


class PgRelay:
    def __init__(self, bus: EventBus, url: str) -> None:
        self.bus = bus
        self.dsn = asyncpg_dsn(url)
        self.node = secrets.token_hex(6)
        self._outbox: asyncio.Queue[Change] = asyncio.Queue()
        self._listener: asyncpg.Connection | None = None
        self._sender: asyncio.Task[None] | None = None
        self._reconnect: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        await self._listen()
        self._sender = asyncio.create_task(self._send_loop())
        self.bus.outward = self._queue

    async def _listen(self) -> None:
        self._listener = await asyncpg.connect(self.dsn)
        self._listener.add_termination_listener(self._lost)
        await self._listener.add_listener(CHANNEL, self._heard)

    def _lost(self, _connection: Any) -> None:
        """The listening connection dropped (database restart, network): listen again, and wake every
        subscriber to compare its mailbox with the store, since notifications may have been missed."""
        if self._closing:
            return
        self._reconnect = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        delay = 0.5
        while not self._closing:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError):
                log.warning("cannot listen for other nodes' changes; trying again in %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                continue
            self.bus.resynchronise()
            return

    def _queue(self, changes: list[Change]) -> None:
        for change in changes:
            self._outbox.put_nowait(change)

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            node, change = decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed change notification")
            return
        if node != self.node:
            self.bus.deliver([change])

    async def _send_loop(self) -> None:
        connection: asyncpg.Connection | None = None
        while True:
            change = await self._outbox.get()
            try:
                if connection is None or connection.is_closed():
                    connection = await asyncpg.connect(self.dsn)
                await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, encode(change, self.node))
            except (OSError, asyncpg.PostgresError):
                # Other nodes then learn of it at their next NOOP or IDLE poll (see imap.selected).
                log.warning("could not tell other nodes of a change", exc_info=True)
                connection = None

    async def close(self) -> None:
        self._closing = True
        self.bus.outward = None
        if self._reconnect is not None:
            self._reconnect.cancel()
            await asyncio.gather(self._reconnect, return_exceptions=True)
        if self._sender is not None:
            for _ in range(200):  # what is queued leaves first, for up to two seconds
                if self._outbox.empty():
                    break
                await asyncio.sleep(0.01)
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
