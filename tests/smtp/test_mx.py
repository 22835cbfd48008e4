"""The MX listener with a real client (smtplib), on both store backends: R5.1, R6.4, R3.2, no relay."""

from __future__ import annotations

import smtplib

import pytest

from hopthu.policy.lifecycle import Action
from tests.smtp.conftest import MailServer, call, insecure_tls, message


def ehlo_features(server: MailServer) -> dict[str, str]:
    client = server.client()
    try:
        client.ehlo("client.example.org")
        return dict(client.esmtp_features)
    finally:
        client.quit()


async def test_extensions_advertised(mailserver: MailServer) -> None:
    features = await call(ehlo_features, mailserver)
    for name in ("size", "8bitmime", "smtputf8", "pipelining", "enhancedstatuscodes", "starttls"):
        assert name in features, features
    assert int(features["size"]) == mailserver.server.settings.smtp.max_message_size
    assert "auth" not in features  # the MX never authenticates


async def test_delivers_to_a_local_mailbox_with_trace_headers(mailserver: MailServer) -> None:
    def send() -> dict:
        with mailserver.client() as client:
            client.ehlo("mx.example.org")
            client.starttls(context=insecure_tls())
            client.ehlo("mx.example.org")  # RFC 3207 §4.2: the session starts over after STARTTLS
            return client.sendmail("ban@example.org", ["nvminh@cantho.gov.vn"], message())

    assert await call(send) == {}
    [stored] = await mailserver.inbox("nvminh")
    head = stored.split(b"\r\n\r\n", 1)[0]
    assert head.startswith(b"Received: from mx.example.org ([127.0.0.1])")
    assert b"with ESMTPS" in head
    assert b"Authentication-Results: mail.cantho.gov.vn;" in head and b"spf=pass" in head
    assert stored.endswith(message())  # the message bytes themselves are never rewritten


async def test_unknown_recipient_and_relay_refused_at_rcpt(mailserver: MailServer) -> None:
    def attempt(recipient: str) -> tuple[int, bytes]:
        with mailserver.client() as client:
            client.ehlo("mx.example.org")
            client.mail("ban@example.org")
            return client.rcpt(recipient)

    assert (await call(attempt, "khongco@cantho.gov.vn"))[0] == 550
    assert b"5.1.1" in (await call(attempt, "khongco@cantho.gov.vn"))[1]
    code, text = await call(attempt, "someone@gmail.com")
    assert code == 550 and b"5.7.1" in text  # no open relay
    assert (await call(attempt, "NVMinh@CanTho.gov.vn"))[0] == 250
    # R13.7: a former province's domain routes only by a person's own old address, none recorded here
    # (tests/smtp/test_former_addresses.py records them): no flat alias to nvminh@cantho.gov.vn.
    assert (await call(attempt, "nvminh@soctrang.gov.vn"))[0] == 550
    await mailserver.services.directory.former.add("nvminh@soctrang.gov.vn", "nvminh", actor="test")
    assert (await call(attempt, "nvminh@soctrang.gov.vn"))[0] == 250


async def test_r5_1_full_mailbox_refused_for_that_recipient_only(mailserver: MailServer) -> None:
    await mailserver.services.directory.accounts.set_quota("ttnanh", 1000, actor="test")

    def send():
        with mailserver.client() as client:
            return client.sendmail(
                "ban@example.org",
                ["nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn"],
                message(body="xxxxxxxxxx\r\n" * 200),
            )

    refused = await call(send)
    assert list(refused) == ["ttnanh@cantho.gov.vn"]
    assert refused["ttnanh@cantho.gov.vn"][0] == 452 and b"4.2.2" in refused["ttnanh@cantho.gov.vn"][1]
    assert len(await mailserver.inbox("nvminh")) == 1 and await mailserver.inbox("ttnanh") == []


async def test_r5_1_attachments_over_limit_refused_552(mailserver: MailServer) -> None:
    import base64

    limit = mailserver.services.pipeline.rules.attachment_max
    mailserver.services.pipeline.rules = type(mailserver.services.pipeline.rules)(
        personal_max=mailserver.services.pipeline.rules.personal_max,
        agency_min=mailserver.services.pipeline.rules.agency_min,
        attachment_max=50_000,
        warn_percents=(80, 90, 95),
    )
    blob = base64.encodebytes(bytes(range(256)) * 300).decode().replace("\n", "\r\n")
    big = message(extra="").replace(
        b"Content-Type: text/plain; charset=utf-8\r\n",
        (
            'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nxem tep\r\n"
            '--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="cv.pdf"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{blob}--b--\r\n"
        ).encode(),
        1,
    )

    def send():
        with mailserver.client() as client:
            client.sendmail("ban@example.org", ["nvminh@cantho.gov.vn"], big)

    with pytest.raises(smtplib.SMTPDataError) as refused:
        await call(send)
    assert refused.value.smtp_code == 552 and b"5.3.4" in refused.value.smtp_error
    assert b"dung luong" in refused.value.smtp_error.lower() or b"MB" in refused.value.smtp_error
    assert limit == 20 * 1024 * 1024
    assert await mailserver.inbox("nvminh") == []


async def test_r6_4_locked_receives_revoked_refuses(mailserver: MailServer) -> None:
    accounts = mailserver.services.directory.accounts
    await accounts.change_status("nvminh", Action.LOCK, reason="violation", ref=None, actor="test")
    await accounts.change_status("ttnanh", Action.REVOKE, reason="inactive", ref=None, actor="test")

    def send():
        with mailserver.client() as client:
            return client.sendmail(
                "ban@example.org", ["nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn"], message()
            )

    refused = await call(send)
    assert refused["ttnanh@cantho.gov.vn"][0] == 550 and b"5.2.1" in refused["ttnanh@cantho.gov.vn"][1]
    assert "nvminh@cantho.gov.vn" not in refused
    assert len(await mailserver.inbox("nvminh")) == 1


async def test_r3_2_outside_mail_forging_our_domain_refused(mailserver: MailServer) -> None:
    def send():
        with mailserver.client() as client:
            client.sendmail(
                "ban@example.org",
                ["nvminh@cantho.gov.vn"],
                message(sender="giamdoc@cantho.gov.vn", subject="Chuyển tiền gấp"),
            )

    with pytest.raises(smtplib.SMTPDataError) as refused:
        await call(send)
    assert refused.value.smtp_code == 550 and b"5.7.1" in refused.value.smtp_error
    assert await mailserver.inbox("nvminh") == []


async def test_r3_2_dns_failure_defers_instead_of_refusing(mailserver: MailServer) -> None:
    """When DNS cannot answer, a message claiming our domain is deferred (451), not refused."""
    mailserver.resolver.failing = frozenset({"example.org", "_dmarc.cantho.gov.vn", "cantho.gov.vn"})

    def send():
        with mailserver.client() as client:
            client.sendmail(
                "ban@example.org", ["nvminh@cantho.gov.vn"], message(sender="giamdoc@cantho.gov.vn")
            )

    with pytest.raises(smtplib.SMTPDataError) as deferred:
        await call(send)
    assert deferred.value.smtp_code == 451 and b"4.7.1" in deferred.value.smtp_error
