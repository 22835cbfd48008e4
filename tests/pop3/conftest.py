"""POP3 listeners inside the test's event loop, on free loopback ports, over a directory with one
agency and two people; blocking `poplib` clients run in threads against them."""

from __future__ import annotations

import asyncio
import dataclasses
import poplib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest

from hopthu.config import Settings
from hopthu.directory.auth import Authenticator
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.mail import parse
from hopthu.pop3 import start_pop3_listeners
from hopthu.security.certs import make_self_signed
from hopthu.server import listen_socket
from hopthu.store import Store
from hopthu.store.mailstore import Target

PASSWORD = "Hop-Thu-2026"


def insecure_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def call(function, *args, **kwargs):
    """Run a blocking client call (poplib) off the loop the server runs on."""
    return await asyncio.to_thread(function, *args, **kwargs)


@dataclass
class Pop3Server:
    settings: Settings
    store: Store
    directory: Directory
    ports: dict[str, int]
    temporary: dict[str, str]  # passwords of people registered but never signed in

    def client(self) -> poplib.POP3:
        return poplib.POP3("127.0.0.1", self.ports["pop3"], timeout=30)

    def tls_client(self) -> poplib.POP3_SSL:
        return poplib.POP3_SSL("127.0.0.1", self.ports["pop3s"], context=insecure_tls(), timeout=30)

    def signed_in(self, login: str = "nvminh", password: str = PASSWORD) -> poplib.POP3:
        client = self.client()
        client.stls(insecure_tls())
        client.user(login)
        client.pass_(password)
        return client

    async def deliver(self, local: str, data: bytes) -> int:
        account = await self.directory.accounts.get(local)
        [delivered] = await self.store.mail.deliver(
            data, parse(data), [Target(account.id, account.quota_bytes)]
        )
        assert delivered.uid is not None
        return delivered.uid

    async def inbox_uids(self, local: str) -> list[int]:
        account = await self.directory.accounts.get(local)
        box = await self.store.mail.mailbox(account.id, "INBOX")
        assert box is not None
        return sorted(m.uid for m in await self.store.mail.messages(box.id, limit=1000))


def with_loopback_login(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, imap=dataclasses.replace(settings.imap, allow_plain_login_on_loopback=True)
    )


@pytest.fixture
async def people(settings: Settings, directory: Directory) -> dict[str, str]:
    """A TLS certificate, and people: nvminh and ttnanh sign in with PASSWORD; lvbinh never changed
    the temporary password returned here."""
    make_self_signed(
        settings.path(settings.server.tls_cert),
        settings.path(settings.server.tls_key),
        ["mail.cantho.gov.vn"],
    )
    await directory.agencies.add("Sở Nội vụ", actor="test")
    rows = [
        PersonRow("Nguyễn", "Văn", "Minh", "sonv"),
        PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv"),
        PersonRow("Lê", "Văn", "Bình", "sonv"),
    ]
    temporary = {}
    for result in await directory.people.register(rows, actor="test"):
        assert result.address is not None and result.temporary_password is not None
        if result.row.given == "Bình":
            temporary[result.address.split("@")[0]] = result.temporary_password
        else:
            await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
    assert set(temporary) == {"lvbinh"}
    return temporary


@pytest.fixture
async def start_pop3(
    settings: Settings, store: Store, directory: Directory, clock, people: dict[str, str]
) -> AsyncIterator[Callable[..., Awaitable[Pop3Server]]]:
    servers: list[asyncio.Server] = []

    async def start(custom: Settings | None = None) -> Pop3Server:
        chosen = custom or settings
        authenticator = Authenticator(DirectoryContext(store, chosen, clock=clock))
        sockets = {role: listen_socket("127.0.0.1", 0, role) for role in ("pop3", "pop3s")}
        ports = {role: sock.getsockname()[1] for role, sock in sockets.items()}
        servers.extend((await start_pop3_listeners(chosen, authenticator, store, sockets)).servers)
        return Pop3Server(chosen, store, directory, ports, people)

    yield start
    for server in servers:
        server.close()
    for server in servers:
        await server.wait_closed()


@pytest.fixture
async def pop3(start_pop3) -> Pop3Server:
    return await start_pop3()


@pytest.fixture
async def loopback_pop3(start_pop3, settings: Settings) -> Pop3Server:
    """Plain-text sign-in allowed from loopback (development setting)."""
    return await start_pop3(with_loopback_login(settings))
