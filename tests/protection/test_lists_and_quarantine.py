"""Block and allow lists and the quarantine through the real server: smtplib to the MX and to
submission, imaplib to read where mail was filed, on both backends.

The outbound hold is decided by rspamd's score; here the pipeline's `Holding` is called with the
inspection a score above `hold_score` gives, and everything after it (the stored message, the lock,
the notices, release and delete from the portal's service) is the real server's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.policy
import imaplib
import smtplib

import pytest
import sqlalchemy as sa

from hopthu.directory.auth import Identity
from hopthu.mail import canonical, parse
from hopthu.protection.verdicts import Action, Inspection, Verdict
from hopthu.smtp.pipeline import Incoming
from hopthu.store.blobs import blob_hash
from hopthu.store.schema import audit_event, blob
from tests.smtp.conftest import PASSWORD, call, insecure_tls, mailserver, message, server_settings  # noqa: F401


@pytest.fixture
def resolver():
    from hopthu.smtp.dns import StaticResolver

    return StaticResolver(
        txt_records={
            "example.org": ["v=spf1 ip4:127.0.0.1 -all"],
            "_dmarc.example.org": ["v=DMARC1; p=none"],
            # a bank whose mail never comes from here, and which asks for quarantine on failure
            "nganhang.example": ["v=spf1 ip4:192.0.2.1 -all"],
            "_dmarc.nganhang.example": ["v=DMARC1; p=quarantine"],
        },
    )


def subjects(port: int, local: str, mailbox: str) -> list[str]:
    client = imaplib.IMAP4("127.0.0.1", port, timeout=30)
    try:
        client.starttls(ssl_context=insecure_tls())
        client.login(local, PASSWORD)
        client.select(mailbox, readonly=True)
        _, found = client.search(None, "ALL")
        shown = []
        for number in found[0].split():
            _, data = client.fetch(number, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
            header = email.message_from_bytes(data[0][1], policy=email.policy.default)
            shown.append(str(header["Subject"]))
        return shown
    finally:
        client.logout()


async def send(server, sender: str, recipients: list[str], data: bytes) -> None:
    def go() -> None:
        with server.client("smtp") as client:
            client.sendmail(sender, recipients, data)

    await call(go)


async def test_city_block_refuses_and_personal_lists_file(mailserver) -> None:  # noqa: F811
    rules = mailserver.services.directory.sender_rules
    minh = (await mailserver.services.directory.accounts.get("nvminh")).id
    anh = (await mailserver.services.directory.accounts.get("ttnanh")).id
    await rules.add(None, "block", "@lua-dao.example", actor="ttnanh")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await send(
            mailserver,
            "ke@lua-dao.example",
            ["nvminh@cantho.gov.vn"],
            message(sender="ke@lua-dao.example", subject="Trúng thưởng"),
        )
    assert refused.value.smtp_code == 550 and b"block list" in refused.value.smtp_error

    # nvminh blocks ban@example.org: to Thư rác for him, the inbox for ttnanh
    await rules.add(minh, "block", "ban@example.org", actor="nvminh")
    both = ["nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn"]
    await send(mailserver, "ban@example.org", both, message(subject="Quảng cáo", to=", ".join(both)))
    # a forged bank (DMARC p=quarantine): Thư rác, except for ttnanh, who allows the bank
    await rules.add(anh, "allow", "@nganhang.example", actor="ttnanh")
    await send(
        mailserver,
        "tb@nganhang.example",
        both,
        message(sender="tb@nganhang.example", subject="Sao kê", to=both[0]),
    )
    port = mailserver.port("imap")
    assert await call(subjects, port, "nvminh", "Junk") == ["Quảng cáo", "Sao kê"]
    assert await call(subjects, port, "nvminh", "INBOX") == []
    assert await call(subjects, port, "ttnanh", "INBOX") == ["Quảng cáo", "Sao kê"]
    assert await call(subjects, port, "ttnanh", "Junk") == []


def outgoing(subject: str) -> bytes:
    return canonical(
        (
            "From: nvminh@cantho.gov.vn\r\nTo: ttnanh@cantho.gov.vn, ban@example.org\r\n"
            f"Subject: {subject}\r\nDate: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
            f"Message-ID: <{subject}@cantho.gov.vn>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=utf-8\r\n\r\n<p>Mua ngay <script>alert(1)</script></p>\r\n"
        ).encode()
    )


async def hold(mailserver, subject: str) -> int:  # noqa: F811
    """What the pipeline does when rspamd scores a submission above `hold_score`."""
    services = mailserver.services
    found = await services.directory.accounts.get("nvminh")  # signed in before the lock
    identity = Identity(found.id, found.local, "nvminh@cantho.gov.vn", found.kind, found.display_name)
    data = outgoing(subject)
    incoming = Incoming(
        data,
        "nvminh@cantho.gov.vn",
        ["ttnanh@cantho.gov.vn", "ban@example.org"],
        "submission",
        identity=identity,
    )
    inspection = Inspection(
        Action.HOLD,
        Verdict.SPAM,
        score=14.5,
        symbols={"BAYES_SPAM": 5.1, "GTUBE": 9.4},
        vi="thư rác",
        en="spam",
    )
    before = await services.quarantine.store.listing()
    await services.pipeline.holding.hold(incoming, data, parse(data), b"X-Spam-Score: 14.5\r\n", inspection)
    (new,) = [h for h in await services.quarantine.store.listing() if h not in before]
    return new.id


async def test_a_held_message_locks_tells_and_is_delivered_once(mailserver) -> None:  # noqa: F811
    services = mailserver.services
    await services.directory.roles.grant("ttnanh", "operator", actor="test")
    held_id = await hold(mailserver, "Khuyen-mai")
    held = await services.quarantine.store.get(held_id)
    assert held.status == "held" and held.score == 14.5 and held.top_symbols[0] == ("GTUBE", 9.4)
    assert (await services.directory.accounts.get("nvminh")).status == "locked"  # R3.1, R6.4a
    with pytest.raises(smtplib.SMTPAuthenticationError):
        await call(mailserver.signed_in, "nvminh")
    (notice,) = await mailserver.inbox("ttnanh")  # the operator (nvminh, the manager, is locked)
    text = email.message_from_bytes(notice, policy=email.policy.default).get_body().get_content()
    assert "nvminh@cantho.gov.vn" in text and f"/quan-tri/thu-giu-lai/{held_id}" in text and "14.5" in text

    outcomes = await asyncio.gather(
        services.quarantine.release(held_id, actor="ttnanh", reason="đã xác minh"),
        services.quarantine.release(held_id, actor="quantri", reason="đã xác minh"),
        return_exceptions=True,
    )
    released = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(released) == 1 and len(refused) == 1 and "decided already" in str(refused[0])
    assert released[0].delivered == 2  # ttnanh's mailbox and the queue to example.org
    stored = [m for m in await mailserver.inbox("ttnanh") if b"Subject: Khuyen-mai" in m]
    assert len(stored) == 1 and b"X-Spam-Score: 14.5" in stored[0]
    queued = await services.store.db.all(sa.text("SELECT recipient FROM queue_item"))
    assert [r[0] for r in queued] == ["ban@example.org"]
    assert (await services.quarantine.store.get(held_id)).status == "released"
    async with services.store.db.read() as conn:
        events = (
            await conn.execute(
                sa.select(audit_event.c.actor, audit_event.c.action, audit_event.c.reason).where(
                    audit_event.c.action.like("quarantine.%")
                )
            )
        ).all()
    assert [tuple(e) for e in events] == [(released[0].held.decided_by, "quarantine.released", "đã xác minh")]


async def test_delete_and_the_purge_give_bodies_back(mailserver) -> None:  # noqa: F811
    services = mailserver.services
    quarantine = services.quarantine
    first = await hold(mailserver, "Xoa-ngay")
    with pytest.raises(Exception, match="Give a reason"):
        await quarantine.delete(first, actor="ttnanh", reason="  ")
    await quarantine.delete(first, actor="ttnanh", reason="thư rác thật")
    with pytest.raises(Exception, match="decided already"):
        await quarantine.release(first, actor="ttnanh", reason="nhầm")
    digest = blob_hash(outgoing("Xoa-ngay"))
    refs = await services.store.db.all(sa.select(blob.c.refcount).where(blob.c.hash == digest))
    assert refs == [(0,)]

    second = await hold(mailserver, "Qua-han")
    days = services.settings.protection.quarantine_days
    now = services.directory.ctx.now()
    early = await services.scheduler.run("quarantine", now=now + dt.timedelta(days=days - 1))
    assert early.status == "ok" and early.summary == {"deleted": 0}
    late = await services.scheduler.run("quarantine", now=now + dt.timedelta(days=days + 1))
    assert late.status == "ok" and late.summary == {"deleted": 1}
    async with services.store.db.read() as conn:
        expired = (
            await conn.execute(
                sa.select(audit_event.c.actor, audit_event.c.details).where(
                    audit_event.c.action == "quarantine.expired"
                )
            )
        ).all()
    assert [(actor, details["id"]) for actor, details in expired] == [("hopthu jobs", second)]
    refs = await services.store.db.all(
        sa.select(blob.c.refcount).where(blob.c.hash == blob_hash(outgoing("Qua-han")))
    )
    assert refs == [(0,)]
    assert [m for m in await mailserver.inbox("ttnanh") if b"Qua-han" in m] == []
