"""A running server (its own loop in a thread, tests/imap/conftest.py) whose DNS knows a few
outside domains with the DMARC records each case needs; mail reaches it on the MX from 127.0.0.1."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from hopthu.config import Settings
from hopthu.smtp.dns import StaticResolver
from tests.imap.conftest import RunningServer, running_server
from tests.smtp.conftest import server_settings  # noqa: F401

ELSEWHERE = "v=spf1 ip4:192.0.2.1 -all"  # a domain whose mail never comes from 127.0.0.1
HERE = "v=spf1 ip4:127.0.0.1 -all"


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver(
        txt_records={
            "bank.example": [ELSEWHERE],
            "_dmarc.bank.example": ["v=DMARC1; p=reject; pct=10; rua=mailto:dmarc@bank.example"],
            "shop.example": [ELSEWHERE],
            "_dmarc.shop.example": ["v=DMARC1; p=quarantine"],
            "news.example": [ELSEWHERE],
            "_dmarc.news.example": ["v=DMARC1; p=none; rua=mailto:agg@reports.example!10m"],
            "news.example._report._dmarc.reports.example": ["v=DMARC1"],
            "good.example": [HERE],
            "_dmarc.good.example": [
                "v=DMARC1; p=reject; rua=mailto:dmarc@good.example,mailto:x@nowhere.example"
            ],
            "org.example": [ELSEWHERE],
            "sub.org.example": [ELSEWHERE],
            "_dmarc.org.example": ["v=DMARC1; p=reject; sp=none"],
            "tiny.example": [ELSEWHERE],
            "_dmarc.tiny.example": ["v=DMARC1; p=none; rua=mailto:dmarc@tiny.example!1k"],
            "flaky.example": [ELSEWHERE],
            "lists.example": [HERE],
        },
        failing=frozenset({"_dmarc.flaky.example"}),
    )


@pytest.fixture
def dmarcserver(server_settings: Settings, resolver: StaticResolver) -> Iterator[RunningServer]:  # noqa: F811
    with running_server(server_settings, resolver) as running:
        yield running


def send(
    server: RunningServer, data: bytes, *, sender: str, to: str = "nvminh@cantho.gov.vn"
) -> tuple[int, str]:
    """One message to the MX; the reply to DATA (code, text)."""
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as client:
        client.ehlo("mx.sender.example")
        client.mail(sender)
        code, _ = client.rcpt(to)
        assert code == 250, (code, to)
        code, text = client.data(data)
        return code, text.decode()
