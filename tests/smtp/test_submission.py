"""Submission (587 STARTTLS, 465 TLS) with real clients, on both backends: AUTH, R5.2, R6, R3.1,
R3.2, R8.1, R8.2, R8.3, DKIM signing of what leaves."""

from __future__ import annotations

import dataclasses
import smtplib

import pytest
import sqlalchemy as sa

from hopthu.policy import sending
from hopthu.policy.lifecycle import Action
from hopthu.smtp.verify import verify_inbound
from hopthu.store.schema import queue_item
from tests.smtp.conftest import PASSWORD, MailServer, call, insecure_tls, message


async def queued(mailserver: MailServer) -> list:
    async with mailserver.services.store.db.read() as conn:
        return (await conn.execute(sa.select(queue_item).order_by(queue_item.c.id))).all()


def features(client: smtplib.SMTP) -> dict:
    client.ehlo("pc.cantho.gov.vn")
    return dict(client.esmtp_features)


async def test_auth_only_after_starttls(mailserver: MailServer) -> None:
    def probe() -> tuple[dict, dict, tuple]:
        with mailserver.client("submission") as client:
            before = features(client)
            refused = client.docmd("AUTH", "PLAIN AG52bWluaABIb3AtVGh1LTIwMjY=")
            client.starttls(context=insecure_tls())
            return before, features(client), refused

    before, after, refused = await call(probe)
    assert "auth" not in before and "starttls" in before
    assert refused[0] == 538
    assert set(after["auth"].split()) == {"PLAIN", "LOGIN"}


async def test_auth_with_a_non_ascii_argument_is_a_syntax_error(mailserver: MailServer) -> None:
    """Found by `make fuzz`: base64 of a non-ASCII str raised ValueError, and aiosmtpd answered
    `500 Error: (ValueError) …` with the exception's own words."""

    def probe() -> list[tuple[int, bytes]]:
        with mailserver.client("submission") as client:
            client.starttls(context=insecure_tls())
            client.ehlo("pc")
            answers = []
            for line in (b"AUTH LOGIN \xc3\xa9\r\n", b"AUTH PLAIN \xc3\xa9\r\n"):
                client.send(line)
                answers.append(client.getreply())
            answers.append(client.noop())
            return answers

    login, plain, noop = await call(probe)
    for code, words in (login, plain):
        assert code == 501 and b"Error" not in words and b"ValueError" not in words, words
    assert noop[0] == 250


async def test_an_over_long_answer_to_an_auth_challenge_is_a_syntax_error(mailserver: MailServer) -> None:
    """Found by `make fuzz`: a line past the stream's limit after `334` raised ValueError inside
    aiosmtpd's AUTH, answered with the exception's own words."""

    def probe() -> list[tuple[int, bytes]]:
        client = mailserver.client("submission")
        try:
            client.starttls(context=insecure_tls())
            client.ehlo("pc")
            answers = [client.docmd("AUTH", "LOGIN")]
            client.send(b"A" * 200_000 + b"\r\n")  # the rest past the limit is read as a command
            answers.append(client.getreply())
        finally:
            client.close()
        with mailserver.client("submission") as again:  # the listener serves on
            answers.append(again.noop())
        return answers

    challenge, refused, noop = await call(probe)
    assert challenge[0] == 334
    assert refused[0] == 501 and b"ValueError" not in refused[1], refused
    assert noop[0] == 250


async def test_a_path_the_standard_parser_trips_on_is_a_syntax_error(mailserver: MailServer) -> None:
    """Found by `make fuzz`: `MAIL FROM:<a@` made the standard library's address parser raise
    IndexError, which aiosmtpd answered `500 Error: (IndexError) …`."""

    def probe() -> list[tuple[int, bytes]]:
        with mailserver.client() as client:
            client.ehlo("pc")
            return [client.docmd("MAIL", "FROM:<a@"), client.docmd("MAIL", "FROM:<ban@example.org>")]

    broken, honest = await call(probe)
    assert broken[0] in (501, 553) and b"IndexError" not in broken[1], broken  # a path, not a crash
    assert honest[0] == 250


async def test_mail_before_auth_is_refused(mailserver: MailServer) -> None:
    def attempt():
        with mailserver.client("submission") as client:
            client.starttls(context=insecure_tls())
            client.ehlo("pc")
            return client.mail("nvminh@cantho.gov.vn")

    assert (await call(attempt))[0] == 530


async def test_send_local_and_remote_with_dkim(mailserver: MailServer) -> None:
    # The remote domain's DNS fails for now: the queue row waits (no attempt can finish before we look).
    mailserver.resolver.failing = frozenset({"example.org"})

    def send():
        with mailserver.signed_in() as client:
            return client.sendmail(
                "nvminh@cantho.gov.vn",
                ["ttnanh@cantho.gov.vn", "ban@example.org"],
                message(
                    sender="Nguyễn Văn Minh <nvminh@cantho.gov.vn>".encode().decode(),
                    to="ttnanh@cantho.gov.vn, ban@example.org",
                ),
            )

    assert await call(send) == {}
    [stored] = await mailserver.inbox("ttnanh")
    assert b"with ESMTPSA" in stored  # the local copy shares the signed headers of the remote one
    assert b"DKIM-Signature:" in stored
    [row] = await queued(mailserver)
    assert (row.recipient, row.sender, row.status) == ("ban@example.org", "nvminh@cantho.gov.vn", "queued")
    # What leaves passes DKIM at the receiving end (the public key served by the test DNS).
    from hopthu.smtp.dkim import dns_record, load_key

    settings = mailserver.server.settings
    name, value = dns_record(load_key(settings.path(settings.smtp.dkim_key)), "hopthu", "cantho.gov.vn")
    mailserver.resolver.txt_records = {**mailserver.resolver.txt_records, name: [value]}
    body = mailserver.services.store.blobs.get(row.blob_hash)
    verdict = await verify_inbound(
        row.prefix + body,
        client_ip="192.0.2.1",
        helo="mail.cantho.gov.vn",
        mail_from="nvminh@cantho.gov.vn",
        resolver=mailserver.resolver,
        authserv_id="mx.example.org",
        our_domains=["example.org"],
    )
    assert [d.result.value for d in verdict.dkim] == ["pass"]


async def test_465_implicit_tls(mailserver: MailServer) -> None:
    def send():
        with mailserver.client("submissions") as client:
            client.login("nvminh@cantho.gov.vn", PASSWORD)
            return client.sendmail(
                "nvminh@cantho.gov.vn", ["ttnanh@cantho.gov.vn"], message(sender="nvminh@cantho.gov.vn")
            )

    assert await call(send) == {}
    [stored] = await mailserver.inbox("ttnanh")
    assert b"DKIM-Signature:" not in stored  # nothing left the system: no signature needed


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
async def test_wrong_password_535(mailserver: MailServer, mechanism: str) -> None:
    def attempt():
        with mailserver.client("submission") as client:
            client.starttls(context=insecure_tls())
            client.ehlo("pc")
            client.user, client.password = "nvminh", "Sai-mat-khau-9"
            return client.auth(
                mechanism, getattr(client, f"auth_{mechanism.lower()}"), initial_response_ok=True
            )

    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        await call(attempt)
    assert refused.value.smtp_code == 535 and b"5.7.8" in refused.value.smtp_error


async def test_r5_2_must_change_password_points_to_web(mailserver: MailServer) -> None:
    temporary = await mailserver.services.directory.accounts.reset_password("nvminh", actor="test")
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        await call(mailserver.signed_in, "nvminh", temporary)
    assert refused.value.smtp_code == 432 and b"4.7.12" in refused.value.smtp_error
    assert b"https://mail.cantho.gov.vn" in refused.value.smtp_error


@pytest.mark.parametrize(
    ("action", "reason", "word"),
    [
        (Action.LOCK, "violation", b"tam khoa"),
        (Action.REVOKE, "inactive", b"thu hoi"),
        (Action.DELETE, "left", b"huy bo"),
    ],
)
async def test_r6_locked_revoked_deleted_cannot_send(mailserver: MailServer, action, reason, word) -> None:
    await mailserver.services.directory.accounts.change_status(
        "nvminh", action, reason=reason, ref="QĐ 1", actor="test"
    )
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
        await call(mailserver.signed_in)
    assert refused.value.smtp_code == 535 and word in refused.value.smtp_error


async def test_r3_2_cannot_send_as_someone_else(mailserver: MailServer) -> None:
    def envelope():
        with mailserver.signed_in() as client:
            return client.mail("ttnanh@cantho.gov.vn")

    def header():
        with mailserver.signed_in() as client:
            client.sendmail(
                "nvminh@cantho.gov.vn", ["ttnanh@cantho.gov.vn"], message(sender="ttnanh@cantho.gov.vn")
            )

    code, text = await call(envelope)
    assert code == 550 and b"5.7.1" in text
    with pytest.raises(smtplib.SMTPDataError) as refused:
        await call(header)
    assert refused.value.smtp_code == 550
    assert await mailserver.inbox("ttnanh") == []


async def test_r8_2_r8_3_delegate_sends_as_agency_mailbox(mailserver: MailServer) -> None:
    directory = mailserver.services.directory

    def send():
        with mailserver.signed_in() as client:
            return client.sendmail(
                "sonv@cantho.gov.vn",
                ["ttnanh@cantho.gov.vn"],
                message(sender="sonv@cantho.gov.vn", subject="Thông báo của Sở"),
            )

    with pytest.raises(smtplib.SMTPSenderRefused):  # not delegated yet
        await call(send)
    await directory.delegations.grant("sonv", "nvminh", can_send=False, actor="test")
    with pytest.raises(smtplib.SMTPSenderRefused):  # read-only delegation
        await call(send)
    await directory.delegations.grant("sonv", "nvminh", can_send=True, actor="test")
    assert await call(send) == {}
    [stored] = await mailserver.inbox("ttnanh")
    assert b"Sender: =?utf-8?b?" in stored and b"<nvminh@cantho.gov.vn>" in stored
    history = await directory.accounts.history("sonv")
    sent = [e for e in history if e.action == "mail.sent_as_delegate"]
    assert len(sent) == 1 and sent[0].actor == "nvminh"


async def test_r8_1_secrecy_marking_refused(mailserver: MailServer) -> None:
    def send():
        with mailserver.signed_in() as client:
            client.sendmail(
                "nvminh@cantho.gov.vn",
                ["ban@example.org"],
                message(
                    sender="nvminh@cantho.gov.vn",
                    subject="Báo cáo",
                    body="ĐỘ MẬT: TUYỆT MẬT\r\nNội dung báo cáo.",
                ),
            )

    with pytest.raises(smtplib.SMTPDataError) as refused:
        await call(send)
    assert refused.value.smtp_code == 550 and b"5.7.1" in refused.value.smtp_error
    assert b'"TUYET MAT"' in refused.value.smtp_error and refused.value.smtp_error.isascii()
    assert await queued(mailserver) == []


async def test_r3_1_sending_limits_then_lock(mailserver: MailServer) -> None:
    """R3.1 as production applies it: the handler's counts judged by `policy.sending.judge`; the
    operators are told of the lock by mail, once (R9.2)."""
    directory = mailserver.services.directory
    await directory.roles.grant("ttnanh", "operator", actor="test")
    limits = mailserver.server.submission_handler.limits
    limits.limits = sending.Limits(per_hour=3, per_day=5, hard_per_day=8)

    def rcpts(count: int) -> list[int]:
        with mailserver.signed_in() as client:
            client.mail("nvminh@cantho.gov.vn")
            return [client.rcpt(f"ban{n}@example.org")[0] for n in range(count)]

    assert await call(rcpts, 5) == [250, 250, 250, 451, 451]  # three an hour
    codes = await call(rcpts, 4)  # attempts keep counting towards the hard limit
    assert codes[-1] == 550
    account = await mailserver.services.directory.accounts.get("nvminh")
    assert account.status == "locked" and account.status_reason == "violation"
    alerts = [
        e
        for e in await mailserver.services.directory.accounts.history("nvminh")
        if e.action == "account.locked"
    ]
    assert alerts and alerts[0].actor == "system"
    assert await limits.admit(account.id, "nvminh") is sending.Verdict.LOCK  # already locked: no more mail
    mail = mailserver.services.store.mail
    inbox = await mail.mailbox((await directory.accounts.get("ttnanh")).id, "INBOX")
    told = [m.subject for m in await mail.messages(inbox.id, limit=10)]
    assert told == ["Hộp thư bị tạm khóa vì gửi thư rác: nvminh@cantho.gov.vn / Locked for sending spam"]


async def test_plain_auth_without_tls_only_when_allowed_for_loopback(server_settings, resolver) -> None:
    """Development only: AUTH on 1587 without STARTTLS from 127.0.0.1 when the setting says so."""
    from hopthu.directory.people import PersonRow
    from hopthu.server import Server

    allowed = dataclasses.replace(
        server_settings, smtp=dataclasses.replace(server_settings.smtp, allow_plain_auth_on_loopback=True)
    )
    server = Server(allowed, resolver=resolver)
    await server.start()
    try:
        await server.services.directory.agencies.add("Sở Nội vụ", actor="test")
        [made] = await server.services.directory.people.register(
            [PersonRow("Lê", "", "Minh", "sonv")], actor="test"
        )
        await server.services.directory.accounts.change_password("lminh", made.temporary_password, PASSWORD)

        def login() -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", server.ports["submission"], timeout=30) as client:
                client.ehlo("pc")
                assert "auth" in client.esmtp_features
                return client.login("lminh", PASSWORD)

        assert (await call(login))[0] == 235
    finally:
        await server.stop()


async def test_web_mail_to_an_unknown_address_of_ours_is_refused(mailserver: MailServer) -> None:
    """Listeners refuse it at RCPT; mail written in the webmail meets the same refusal in the
    pipeline, and is never queued as if the address were remote."""
    from hopthu.smtp.pipeline import Incoming
    from hopthu.smtp.replies import for_outcome

    identity = await mailserver.services.authenticator.sign_in("nvminh", PASSWORD, source="t", protocol="web")
    outcome = await mailserver.services.pipeline.accept(
        Incoming(
            message(sender="nvminh@cantho.gov.vn", to="khongco@cantho.gov.vn"),
            "nvminh@cantho.gov.vn",
            ["khongco@cantho.gov.vn"],
            "web",
            identity=identity,
        )
    )
    reply = for_outcome(outcome)
    assert reply.code == 550 and "khongco@cantho.gov.vn" in reply.text
    assert await queued(mailserver) == []
