"""The mail log through real SMTP (R13.1): a message in over the MX, one out over submission and a
refused forgery each leave an entry with what identifies them; the outbound queue then tells the
entry what the remote server did with it."""

from __future__ import annotations

import smtplib

import pytest

from hopthu.mail import canonical, parse
from hopthu.smtp.outbound import OutboundQueue
from hopthu.store.maillog import LogEntry, MailLog, Query
from hopthu.store.mailstore import Remote
from tests.smtp.conftest import MailServer, call, message
from tests.smtp.test_outbound import mx, notices, outbound_settings, remote, resolver  # noqa: F401

HOPS = (
    "Received: from pc-vanthu (unknown [192.0.2.7]) by relay.example.org with ESMTPSA id 77aa;\r\n"
    "\tMon, 02 Mar 2026 08:29:58 +0700\r\n"
    "Received: from localhost by pc-vanthu.example.org; Mon, 02 Mar 2026 08:29:57 +0700\r\n"
)


async def _find(mailserver: MailServer, **query: str):
    log = mailserver.services.pipeline.mail_log
    await log.flush()
    return await log.search(Query(**query))


async def test_a_message_in_is_logged_with_its_trace(mailserver: MailServer) -> None:
    data = message(subject="Giấy mời dự hội nghị sơ kết", extra="Cc: vanthu@example.org\r\n")

    def send() -> dict:
        with mailserver.client() as client:
            client.ehlo("mx.example.org")
            return client.sendmail("ban@example.org", ["nvminh@cantho.gov.vn"], HOPS.encode() + data)

    assert await call(send) == {}
    (entry,) = await _find(mailserver, recipient="nvminh@cantho.gov.vn")
    assert (entry.direction, entry.channel, entry.client_ip) == ("in", "mx", "127.0.0.1")
    assert entry.mail_from == "ban@example.org" and entry.header_from == "ban@example.org"
    assert entry.subject == "Giấy mời dự hội nghị sơ kết" and entry.outcome == "delivered"
    assert entry.message_id == parse(canonical(data)).message_id
    detail = await mailserver.services.pipeline.mail_log.entry(entry.id)
    details = detail.details
    assert details["helo"] == "mx.example.org" and details["cc"] == ["vanthu@example.org"]
    assert details["date"] == "Mon, 02 Mar 2026 08:30:00 +0700" and details["fates"] == {
        "nvminh@cantho.gov.vn": "inbox"
    }
    # Our own trace field first, then the two the message came with.
    assert len(details["received"]) == 3 and details["received"][0].startswith(
        "from mx.example.org ([127.0.0.1])"
    )
    assert details["received"][1].startswith("from pc-vanthu (unknown [192.0.2.7])")
    assert details["auth"]["spf"] == "pass"


async def test_a_message_out_is_logged_as_queued(mailserver: MailServer) -> None:
    data = message(sender="nvminh@cantho.gov.vn", to="ban@example.org", subject="Báo cáo quý 1/2026")

    def send() -> dict:
        with mailserver.signed_in() as client:
            return client.sendmail("nvminh@cantho.gov.vn", ["ban@example.org"], data)

    assert await call(send) == {}
    (entry,) = await _find(mailserver, sender="nvminh@cantho.gov.vn")
    assert (entry.direction, entry.channel, entry.recipients) == ("out", "submission", "ban@example.org")
    assert entry.subject == "Báo cáo quý 1/2026" and entry.header_from == "nvminh@cantho.gov.vn"
    assert entry.outcome in ("queued", "deferred", "bounced")  # the queue may have tried it already
    account = await mailserver.services.directory.accounts.get("nvminh")
    assert entry.account_id == account.id


async def test_a_refused_forgery_is_logged_too(mailserver: MailServer) -> None:
    def send():
        with mailserver.client() as client:
            client.sendmail(
                "ban@example.org",
                ["nvminh@cantho.gov.vn"],
                message(sender="giamdoc@cantho.gov.vn", subject="Chuyển tiền gấp"),
            )

    with pytest.raises(smtplib.SMTPDataError):
        await call(send)
    (entry,) = await _find(mailserver, subject="Chuyển tiền gấp")
    assert (entry.outcome, entry.verdict, entry.header_from) == ("refused", "forged", "giamdoc@cantho.gov.vn")
    detail = await mailserver.services.pipeline.mail_log.entry(entry.id)
    assert detail.details["reply"].startswith("550") and detail.details["auth"]["dmarc"] == "fail"


async def test_the_queue_tells_the_entry_it_was_sent_or_bounced(
    store,
    settings,
    remote,  # noqa: F811
    clock,
    notices,  # noqa: F811
) -> None:
    handler, controller = remote
    handler.rcpt_replies["khong-co@example.org"] = "550 5.1.1 No such user"
    outbound = outbound_settings(settings, controller.port)
    worker = OutboundQueue(store, outbound, resolver(), clock=clock, send_notice=notices)
    data = canonical(message(sender="nvminh@cantho.gov.vn", to="ban@example.org", subject="Thư mời"))
    reached = ["ban@example.org", "khong-co@example.org"]
    entry = LogEntry(
        at=clock(),
        direction="out",
        channel="submission",
        client_ip="127.0.0.1",
        mail_from="nvminh@cantho.gov.vn",
        recipients=reached,
        header_from="nvminh@cantho.gov.vn",
        subject="Thư mời",
        message_id="<thu-moi@cantho.gov.vn>",
        size=len(data),
        verdict="clean",
        outcome="delivered",
        reached=reached,
    )
    targets = [Remote("nvminh@cantho.gov.vn", r) for r in entry.reached]
    await store.mail.deliver(data, parse(data), targets, log=entry)
    await worker.run_once()
    log = MailLog(store.db)
    (found,) = await log.search(Query(message_id="<thu-moi@cantho.gov.vn>"))
    assert found.outcome == "bounced"
    detail = await log.entry(found.id)
    events = {e.detail.split()[0]: e.kind for e in detail.events}
    assert events == {"ban@example.org": "sent", "khong-co@example.org": "bounced"}
