"""The built-in checks that run with no engine at all (`make run`'s default): DNS blocklists and the
mail log entry of a refusal. Through the real pipeline; DNS answered at the edge by a StaticResolver."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from hopthu.protection import dnsbl
from hopthu.protection.verdicts import Action, Inspection, Verdict
from hopthu.smtp.dns import StaticResolver
from hopthu.smtp.pipeline import Incoming
from hopthu.smtp.replies import for_outcome
from tests.smtp.conftest import MailServer, mailserver, message, server_settings

__all__ = ["mailserver", "server_settings"]  # the SMTP suite's running server, used here

LISTED_IP = "81.2.69.160"  # a global address; listed in the test's zone only


@pytest.fixture
def resolver() -> StaticResolver:
    return StaticResolver(
        txt_records={
            "example.org": ["v=spf1 ip4:81.2.69.0/24 -all"],
            "_dmarc.example.org": ["v=DMARC1; p=none"],
        },
        address_records={
            "160.69.2.81.zen.spamhaus.org": ["127.0.0.2"],
            "161.69.2.81.zen.spamhaus.org": ["127.255.255.254"],  # the zone refusing the query
        },
    )


async def test_dnsbl_query_names_and_answers(resolver: StaticResolver) -> None:
    assert dnsbl.query_name("81.2.69.160", "zen.spamhaus.org") == "160.69.2.81.zen.spamhaus.org"
    assert dnsbl.query_name("127.0.0.1", "zen.spamhaus.org") is None  # never asked for loopback
    assert dnsbl.query_name("2001:db8::1", "x.org") is None  # documentation range: not global
    assert dnsbl.query_name("2a00:1450::1", "x.org").startswith("1.0.0.0.") is True
    assert await dnsbl.listed(resolver, LISTED_IP, ["zen.spamhaus.org"]) == "zen.spamhaus.org"
    assert await dnsbl.listed(resolver, "81.2.69.161", ["zen.spamhaus.org"]) is None
    assert await dnsbl.listed(resolver, "81.2.69.162", ["zen.spamhaus.org"]) is None
    failing = dataclasses.replace(resolver, failing=frozenset({"160.69.2.81.zen.spamhaus.org"}))
    assert await dnsbl.listed(failing, LISTED_IP, ["zen.spamhaus.org"]) is None  # DNS down: not listed


def test_a_later_weaker_check_never_weakens_a_refusal() -> None:
    inspection = Inspection()
    inspection.decide(Action.JUNK, Verdict.DMARC, "vi", "en")
    inspection.decide(Action.REJECT, Verdict.MALWARE, "vi", "virus")
    inspection.decide(Action.TEMPFAIL, Verdict.UNSCANNED, "vi", "later")
    assert (inspection.action, inspection.verdict, inspection.en) == (Action.REJECT, Verdict.MALWARE, "virus")


async def test_r13_2_listed_client_refused_at_data_and_logged(mailserver: MailServer) -> None:
    pipeline = mailserver.services.pipeline
    for client_ip, code in ((LISTED_IP, 550), ("81.2.69.161", 250)):
        outcome = await pipeline.accept(
            Incoming(
                message(subject=f"từ {client_ip}"),
                "ban@example.org",
                ["nvminh@cantho.gov.vn"],
                "mx",
                client_ip=client_ip,
                helo="mail.example.org",
                received_at=pipeline.router.ctx.now(),
            )
        )
        reply = for_outcome(outcome)
        assert reply.code == code, reply
        if code == 550:
            assert reply.status == "5.7.1" and "zen.spamhaus.org" in reply.text
    await pipeline.mail_log.flush()  # refused messages' entries are written each second
    rows = await mailserver.services.store.db.all(
        sa.text("SELECT client_ip, verdict, outcome FROM mail_log ORDER BY client_ip")
    )
    assert [tuple(row) for row in rows] == [
        (LISTED_IP, "dnsbl", "refused"),
        ("81.2.69.161", "clean", "delivered"),
    ]
    assert len(await mailserver.inbox("nvminh")) == 1
