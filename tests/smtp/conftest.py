"""A running mail server inside the test's event loop: every listener on a free loopback port, a
directory with one agency and a few people, and DNS answered by a StaticResolver."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from hopthu.config import Settings
from hopthu.directory.people import PersonRow
from hopthu.security.certs import make_self_signed
from hopthu.server import Server, with_ports
from hopthu.smtp.dkim import generate_key
from hopthu.smtp.dns import StaticResolver

PASSWORD = "Hop-Thu-2026"


@dataclass
class MailServer:
    server: Server
    resolver: StaticResolver

    @property
    def services(self):
        return self.server.services

    def port(self, role: str) -> int:
        return self.server.ports[role]

    def client(self, role: str = "smtp") -> smtplib.SMTP:
        if role == "submissions":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return smtplib.SMTP_SSL("127.0.0.1", self.port(role), context=context, timeout=30)
        return smtplib.SMTP("127.0.0.1", self.port(role), timeout=30)

    def signed_in(self, login: str = "nvminh", password: str = PASSWORD) -> smtplib.SMTP:
        client = self.client("submission")
        client.starttls(context=insecure_tls())
        client.login(login, password)
        return client

    async def inbox(self, local: str, mailbox: str = "INBOX") -> list[bytes]:
        """The full stored messages (our headers first) of a mailbox, oldest first."""
        account = await self.services.directory.accounts.get(local)
        box = await self.services.store.mail.mailbox(account.id, mailbox)
        summaries = await self.services.store.mail.messages(box.id, limit=1000)
        return [await self.services.store.mail.message_bytes(box.id, m.uid) for m in reversed(summaries)]


def insecure_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def message(
    sender: str = "ban@example.org",
    to: str = "nvminh@cantho.gov.vn",
    subject: str = "Xin chào",
    body: str = "Nội dung thư.",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: =?utf-8?b?{_b64(subject)}?=\r\n"
        "Date: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
        f"Message-ID: <{abs(hash((sender, subject, body)))}@test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}\r\n"
    ).encode()


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


async def call(function, *args, **kwargs):
    """Run a blocking client call (smtplib) off the loop the server runs on."""
    return await asyncio.to_thread(function, *args, **kwargs)


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver(
        txt_records={
            "example.org": ["v=spf1 ip4:127.0.0.1 -all"],
            "_dmarc.example.org": ["v=DMARC1; p=none"],
        },
    )


@pytest.fixture
def server_settings(settings: Settings) -> Settings:
    make_self_signed(
        settings.path(settings.server.tls_cert),
        settings.path(settings.server.tls_key),
        ["mail.cantho.gov.vn"],
    )
    generate_key(settings.path(settings.smtp.dkim_key))
    return with_ports(
        settings,
        http_port=0,
        https_port=0,
        mx_port=0,
        submission_port=0,
        submissions_port=0,
        imap_port=0,
        imaps_port=0,
        pop3_port=0,
        pop3s_port=0,
    )


@pytest.fixture
async def mailserver(server_settings: Settings, resolver: StaticResolver) -> AsyncIterator[MailServer]:
    server = Server(server_settings, resolver=resolver)
    await server.start()
    directory = server.services.directory
    await directory.agencies.add("Sở Nội vụ", actor="test")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv")]
    for result in await directory.people.register(people, actor="test"):
        await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
    try:
        yield MailServer(server, resolver)
    finally:
        await server.stop()


def with_policy(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, policy=dataclasses.replace(settings.policy, **changes))
