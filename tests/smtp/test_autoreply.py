"""Out-of-office replies (RFC 3834): once per sender per period, never to lists, bulk mail, other
automatic mail, the null sender, or mail that does not name the person in To or Cc."""

from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest
import sqlalchemy as sa

from hopthu.directory.preferences import Preferences
from hopthu.smtp.autoreply import addressed_to, may_answer
from hopthu.store.schema import queue_item
from tests.smtp.conftest import MailServer, call, message

AWAY = Preferences(vacation_on=True, vacation_subject="", vacation_text="Tôi nghỉ phép đến thứ Hai.")


@pytest.mark.parametrize(
    ("mail_from", "header", "expected"),
    [
        ("ban@example.org", b"Subject: x\r\n", True),
        ("", b"Subject: x\r\n", False),
        ("MAILER-DAEMON@example.org", b"", False),
        ("noreply@example.org", b"", False),
        ("tin-tuc-request@example.org", b"", False),
        ("owner-tin-tuc@example.org", b"", False),
        ("ban@example.org", b"List-Id: <tin.example.org>\r\n", False),
        ("ban@example.org", b"Precedence: bulk\r\n", False),
        ("ban@example.org", b"Auto-Submitted: auto-replied\r\n", False),
        ("ban@example.org", b"Auto-Submitted: no\r\n", True),
        ("ban@example.org", b"X-Auto-Response-Suppress: OOF, AutoReply\r\n", False),
    ],
)
def test_what_may_be_answered(mail_from: str, header: bytes, expected: bool) -> None:
    assert may_answer(mail_from, header) is expected


def test_only_mail_naming_the_person() -> None:
    envelope = {"to": [[None, None, "ttnanh", "cantho.gov.vn"]], "cc": None}
    assert addressed_to(envelope, ["TTNAnh@cantho.gov.vn"])
    assert not addressed_to(envelope, ["nvminh@cantho.gov.vn"])


async def _away(mailserver: MailServer, local: str, preferences: Preferences = AWAY) -> None:
    account = await mailserver.services.directory.accounts.get(local)
    await mailserver.services.directory.preferences.save(account.id, preferences)


async def _replies_to(mailserver: MailServer, recipient: str) -> list:
    await mailserver.services.pipeline.auto_replies.wait()
    async with mailserver.services.store.db.read() as conn:
        rows = await conn.execute(sa.select(queue_item).where(queue_item.c.recipient == recipient))
        return rows.all()


async def _send(mailserver: MailServer, data: bytes, to: str = "ttnanh@cantho.gov.vn") -> None:
    def send() -> None:
        with mailserver.client() as client:
            client.sendmail("ban@example.org", [to], data)

    await call(send)


async def test_one_reply_per_sender_per_period(mailserver: MailServer) -> None:
    mailserver.resolver.failing = frozenset({"example.org"})  # replies wait in the queue for us to see
    await _away(mailserver, "ttnanh")
    await _send(mailserver, message(to="ttnanh@cantho.gov.vn", subject="Hỏi lịch họp"))
    await _send(mailserver, message(to="ttnanh@cantho.gov.vn", subject="Hỏi lại"))
    (reply,) = await _replies_to(mailserver, "ban@example.org")
    assert reply.sender == ""  # from the null sender: nothing answers it back (RFC 3834 §3.3)
    body = reply.prefix + mailserver.services.store.blobs.get(reply.blob_hash)
    assert b"Auto-Submitted: auto-replied" in body and b"ttnanh@cantho.gov.vn" in body
    parsed = email.message_from_bytes(body, policy=email.policy.default)
    assert parsed.get_content().strip() == "Tôi nghỉ phép đến thứ Hai."
    assert str(parsed["Subject"]) == "Tự động trả lời: Hỏi lịch họp"


async def test_a_reply_switched_on_between_two_messages_answers_the_second(mailserver: MailServer) -> None:
    """Delivery keeps who is away in memory (`directory.keptsets`): switching the reply on in the
    webmail's settings reaches it at once, and switching it off too."""
    mailserver.resolver.failing = frozenset({"example.org"})
    await _send(mailserver, message(to="ttnanh@cantho.gov.vn", subject="Truoc"))
    assert await _replies_to(mailserver, "ban@example.org") == []
    await _away(mailserver, "ttnanh")
    await _send(mailserver, message(to="ttnanh@cantho.gov.vn", subject="Sau"))
    (reply,) = await _replies_to(mailserver, "ban@example.org")
    body = reply.prefix + mailserver.services.store.blobs.get(reply.blob_hash)
    assert b"Sau" in body
    await _away(mailserver, "ttnanh", Preferences())

    def send_from_another() -> None:  # one whom the reply never answered yet
        with mailserver.client() as client:
            data = message(sender="khac@example.org", to="ttnanh@cantho.gov.vn", subject="Tat")
            client.sendmail("khac@example.org", ["ttnanh@cantho.gov.vn"], data)

    await call(send_from_another)
    assert await _replies_to(mailserver, "khac@example.org") == []


async def test_no_reply_to_lists_or_blind_copies(mailserver: MailServer) -> None:
    mailserver.resolver.failing = frozenset({"example.org"})
    await _away(mailserver, "ttnanh")
    await _send(mailserver, message(to="ttnanh@cantho.gov.vn", extra="List-Id: <tin.example.org>\r\n"))
    await _send(mailserver, message(to="nhieu-nguoi@example.org"), to="ttnanh@cantho.gov.vn")  # only Bcc
    assert await _replies_to(mailserver, "ban@example.org") == []


async def test_a_colleague_gets_the_reply_in_the_inbox(mailserver: MailServer) -> None:
    await _away(mailserver, "ttnanh")

    def send() -> None:
        with mailserver.signed_in() as client:
            client.sendmail(
                "nvminh@cantho.gov.vn",
                ["ttnanh@cantho.gov.vn"],
                message(sender="nvminh@cantho.gov.vn", to="ttnanh@cantho.gov.vn", subject="Báo cáo tuần"),
            )

    await call(send)
    await mailserver.services.pipeline.auto_replies.wait()
    (reply,) = await mailserver.inbox("nvminh")
    assert b"Auto-Submitted: auto-replied" in reply
    assert b"Subject: =?utf-8?" in reply  # "Tự động trả lời: Báo cáo tuần", encoded


async def test_the_reply_stops_after_its_last_day(mailserver: MailServer) -> None:
    mailserver.resolver.failing = frozenset({"example.org"})
    yesterday = dt.date.today() - dt.timedelta(days=2)
    await _away(
        mailserver, "ttnanh", Preferences(vacation_on=True, vacation_text="Nghỉ.", vacation_until=yesterday)
    )
    await _send(mailserver, message(to="ttnanh@cantho.gov.vn"))
    assert await _replies_to(mailserver, "ban@example.org") == []


async def test_of_many_recipients_only_those_away_answer(mailserver: MailServer) -> None:
    """A message to several people (a circular) answers once for each person away and for no one
    else; who is away is asked once for them all."""
    mailserver.resolver.failing = frozenset({"example.org"})
    await _away(mailserver, "ttnanh")
    away = await mailserver.services.directory.preferences.away(
        [(await mailserver.services.directory.accounts.get(local)).id for local in ("nvminh", "ttnanh")]
    )
    assert [p.vacation_text for p in away.values()] == [AWAY.vacation_text]

    def send() -> None:
        with mailserver.client() as client:
            client.sendmail(
                "ban@example.org",
                ["nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn"],
                message(to="nvminh@cantho.gov.vn, ttnanh@cantho.gov.vn", subject="Thông báo"),
            )

    await call(send)
    (reply,) = await _replies_to(mailserver, "ban@example.org")
    body = reply.prefix + mailserver.services.store.blobs.get(reply.blob_hash)
    assert b"ttnanh@cantho.gov.vn" in body and b"nvminh@" not in body
