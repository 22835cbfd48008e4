"""A running `Server` on its own event loop in a thread, so tests drive it with blocking clients
(imaplib, imapclient, mbsync) as users' programs do, on both store backends.

People: nvminh and ttnanh (Sở Nội vụ, password PASSWORD); the agency mailbox `sonv` is delegated to
nvminh (R8.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import itertools
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from hopthu.config import Settings
from hopthu.directory.people import PersonRow
from hopthu.mail import canonical, parse
from hopthu.server import Server
from hopthu.smtp.dns import StaticResolver
from hopthu.store.mailstore import Target
from tests.imap.rawclient import RawClient, tagged
from tests.smtp.conftest import PASSWORD, insecure_tls, resolver, server_settings  # noqa: F401

T = TypeVar("T")


@dataclass
class RunningServer:
    server: Server
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread

    def stop(self) -> None:
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    @property
    def services(self):
        return self.server.services

    def port(self, role: str) -> int:
        return self.server.ports[role]

    def connect(self, *, tls: str = "starttls") -> imaplib.IMAP4:
        """An imaplib client: "starttls" on the plain port, "implicit" on the TLS port, "none"."""
        if tls == "implicit":
            return imaplib.IMAP4_SSL("127.0.0.1", self.port("imaps"), ssl_context=insecure_tls(), timeout=30)
        client = imaplib.IMAP4("127.0.0.1", self.port("imap"), timeout=30)
        if tls == "starttls":
            client.starttls(ssl_context=insecure_tls())
        return client

    def login(self, local: str = "nvminh", password: str = PASSWORD) -> imaplib.IMAP4:
        client = self.connect()
        client.login(local, password)
        return client

    def raw(self, local: str | None = "nvminh", *, tls: str = "starttls") -> RawClient:
        """A byte-exact client signed in as `local` (None: not signed in); `tls` as for `connect`."""
        if tls == "implicit":
            client = RawClient(self.port("imaps"), tls=True)
        else:
            client = RawClient(self.port("imap"))
            if tls == "starttls":
                client.starttls()
        if local is not None:
            assert b"OK" in tagged(client.login(local, PASSWORD))
        return client

    def account_id(self, local: str) -> int:
        return self.run(self.services.directory.accounts.get(local)).id

    def deliver(self, local: str, data: bytes, mailbox: str = "INBOX", flags: int = 0) -> int:
        """Put a message straight into a mailbox (as delivery would); returns its UID."""
        data = canonical(data)
        target = Target(self.account_id(local), 10**10, mailbox, flags)
        (delivered,) = self.run(self.services.store.mail.deliver(data, parse(data), [target]))
        assert delivered.uid is not None, delivered
        return delivered.uid


def start_in_thread(server: Server) -> RunningServer:
    """Run `server` on a new event loop in a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="server-loop", daemon=True)
    thread.start()
    running = RunningServer(server, loop, thread)
    running.run(server.start())
    return running


def second_node(first: RunningServer) -> RunningServer:
    """Another node of the same installation (same database and blob folder, its own ports)."""
    return start_in_thread(Server(first.server.settings, resolver=first.server.resolver))


@contextlib.contextmanager
def running_server(settings: Settings, resolver: StaticResolver) -> Iterator[RunningServer]:  # noqa: F811
    """A started server with the test people in its directory, stopped on leaving."""
    running = start_in_thread(Server(settings, resolver=resolver))
    try:
        running.run(_people(running.server))
        yield running
    finally:
        running.stop()


@pytest.fixture
def imapserver(server_settings: Settings, resolver: StaticResolver) -> Iterator[RunningServer]:  # noqa: F811
    with running_server(server_settings, resolver) as running:
        yield running


async def _people(server: Server) -> None:
    directory = server.services.directory
    await directory.agencies.add("Sở Nội vụ", actor="test")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv")]
    for result in await directory.people.register(people, actor="test"):
        await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
    await directory.delegations.grant("sonv", "nvminh", can_send=True, actor="test")


_serial = itertools.count(1)


def message(
    subject: str = "Công văn số 12",
    body: str = "Kính gửi các đơn vị.",
    sender: str = "ban@example.org",
    to: str = "nvminh@cantho.gov.vn",
    extra: str = "",
) -> bytes:
    """A plain UTF-8 message (Subject encoded as RFC 2047 words)."""
    from email.header import Header

    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {Header(subject, 'utf-8').encode()}\r\n"
        f"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <m.{next(_serial)}@test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n{extra}\r\n{body}\r\n"
    ).encode()
