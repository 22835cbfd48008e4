"""R13.7 old addresses per person, with real clients against the served listeners, on both backends:
two people who shared a local part in the two former provinces each get their own mail; an old
address nobody had is refused at RCPT; a flat alias domain still maps local part to local part; the
sender of mail to an old address is told the new one once per period (the clock moved by hand), never
for bulk or automatic mail; the old address signs in to IMAP, POP3, SMTP AUTH and the webmail until
the operator's date, and after it is an unknown login."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email
import email.policy
import imaplib
import poplib
import re
import smtplib

import httpx
import pytest
import sqlalchemy as sa

from hopthu.config import FormerSettings, Settings
from hopthu.directory import accesslog, formerimport
from hopthu.directory.accesslog import AccessQuery
from hopthu.policy.dates import VIETNAM
from hopthu.store.schema import queue_item
from tests.conftest import Clock
from tests.smtp.conftest import PASSWORD, MailServer, call, insecure_tls, message

TODAY = dt.datetime.now(dt.UTC).astimezone(VIETNAM).date()
LIST = (
    "Địa chỉ cũ,Họ,Tên đệm,Tên,Mã cơ quan,Cấp bậc\r\n"
    "NVMinh@SocTrang.gov.vn,Nguyễn,Văn,Minh,sonv,2\r\n"
    "nvminh@haugiang.gov.vn,Ngô,Văn,Minh,sonv,1\r\n"
    "ttnanh@haugiang.gov.vn,Trần,Thị Ngọc,Ánh,sonv,0\r\n"
).encode()


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """Senders told, old addresses signing in until today, and one flat alias domain."""
    return dataclasses.replace(
        server_settings,
        smtp=dataclasses.replace(server_settings.smtp, flat_domain_aliases=("cantho.vn",)),
        former=FormerSettings(notify_senders=True, signin_until=TODAY.isoformat()),
    )


async def _import(mailserver: MailServer) -> dict[str, str]:
    """The list above, imported: old address → new local part, each person's password set."""
    directory = mailserver.services.directory
    rows = formerimport.read_rows(LIST, "danh-sach.csv")
    results = await directory.former_import.run(rows, actor="test")
    assert [r.error for r in results] == [None, None, None]
    # The two Nguyễn/Ngô Văn Minh share the base nvminh, taken: the next numbers, by R4.
    assert sorted(r.address for r in results if r.address and r.address.startswith("nvminh")) == [
        "nvminh1",
        "nvminh2",
    ]
    # ttnanh@haugiang.gov.vn was Trần Thị Ngọc Ánh of Hậu Giang, not ttnanh@cantho.gov.vn: a new mailbox.
    mapped = {}
    for result in results:
        assert result.created and result.address and result.temporary_password and result.old
        await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
        mapped[result.old] = result.address
    return mapped


def _send(mailserver: MailServer, recipient: str, data: bytes, sender: str = "ban@example.org") -> dict:
    with mailserver.client() as client:
        client.ehlo("mx.example.org")
        return client.sendmail(sender, [recipient], data)


async def test_r13_7_same_local_part_in_two_provinces_reaches_two_people(mailserver: MailServer) -> None:
    mapped = await _import(mailserver)
    soctrang, haugiang = mapped["nvminh@soctrang.gov.vn"], mapped["nvminh@haugiang.gov.vn"]
    assert soctrang != haugiang
    await call(
        _send, mailserver, "nvminh@soctrang.gov.vn", message(to="nvminh@soctrang.gov.vn", subject="Sóc Trăng")
    )
    await call(
        _send, mailserver, "NVMINH@HauGiang.gov.vn", message(to="nvminh@haugiang.gov.vn", subject="Hậu Giang")
    )
    await call(
        _send, mailserver, "ttnanh@haugiang.gov.vn", message(to="ttnanh@haugiang.gov.vn", subject="Ánh HG")
    )
    (first,) = await mailserver.inbox(soctrang)
    (second,) = await mailserver.inbox(haugiang)
    assert b"nvminh@soctrang.gov.vn" in first and b"nvminh@haugiang.gov.vn" in second
    assert await mailserver.inbox("nvminh") == []  # nvminh@cantho.gov.vn is a third person
    assert await mailserver.inbox("ttnanh") == []
    assert len(await mailserver.inbox(mapped["ttnanh@haugiang.gov.vn"])) == 1


async def test_r13_7_an_old_address_nobody_had_is_refused_at_rcpt(mailserver: MailServer) -> None:
    await _import(mailserver)

    def attempt(recipient: str) -> tuple[int, bytes]:
        with mailserver.client() as client:
            client.ehlo("mx.example.org")
            client.mail("ban@example.org")
            return client.rcpt(recipient)

    # ttnanh has a mailbox here, but nobody recorded ttnanh@soctrang.gov.vn: no flat alias any more.
    for unknown in ("ttnanh@soctrang.gov.vn", "khongco@haugiang.gov.vn", "nvminh1@soctrang.gov.vn"):
        code, text = await call(attempt, unknown)
        assert code == 550 and b"5.1.1" in text and b"Khong co hop thu nay / No such mailbox" in text, unknown
    assert (await call(attempt, "nvminh@soctrang.gov.vn"))[0] == 250
    assert (await call(attempt, "ttnanh@cantho.vn"))[0] == 250  # a flat alias domain: local part as is
    assert (await call(attempt, "khongco@cantho.vn"))[0] == 550


async def _notices_to(mailserver: MailServer, recipient: str) -> list[bytes]:
    await mailserver.services.pipeline.former_notices.wait()
    async with mailserver.services.store.db.read() as conn:
        rows = (await conn.execute(sa.select(queue_item).where(queue_item.c.recipient == recipient))).all()
    return [row.prefix + mailserver.services.store.blobs.get(row.blob_hash) for row in rows]


async def test_r13_7_sender_told_the_new_address_once_per_period(mailserver: MailServer) -> None:
    mapped = await _import(mailserver)
    new = mapped["nvminh@soctrang.gov.vn"]
    mailserver.resolver.failing = frozenset({"example.org", "example.net"})  # notices wait in the queue
    clock = Clock(dt.datetime.now(dt.UTC))
    mailserver.services.router.ctx.clock = clock
    old = "nvminh@soctrang.gov.vn"
    await call(_send, mailserver, old, message(to=old, subject="Lần một"))
    await call(_send, mailserver, old, message(to=old, subject="Lần hai"))
    (notice,) = await _notices_to(mailserver, "ban@example.org")
    parsed = email.message_from_bytes(notice, policy=email.policy.default)
    assert parsed["Auto-Submitted"] == "auto-generated" and parsed["To"] == "ban@example.org"
    text = parsed.get_content()
    assert f"{new}@cantho.gov.vn" in text and old in text
    assert "Thư của bạn gửi tới" in text and "Your message to" in text  # Vietnamese, then English
    queued = await mailserver.services.store.db.all(
        sa.select(queue_item.c.sender).where(queue_item.c.recipient == "ban@example.org")
    )
    assert [row[0] for row in queued] == [""]  # from the null sender, through the outbound queue

    clock.advance(days=29)
    await call(_send, mailserver, old, message(to=old, subject="Lần ba"))
    assert len(await _notices_to(mailserver, "ban@example.org")) == 1
    clock.advance(days=2)  # 31 days after the first notice
    await call(_send, mailserver, old, message(to=old, subject="Lần bốn"))
    assert len(await _notices_to(mailserver, "ban@example.org")) == 2
    # Another old address is its own notice, even for the same sender.
    other = "nvminh@haugiang.gov.vn"
    await call(_send, mailserver, other, message(to=other, subject="Hậu Giang"))
    assert len(await _notices_to(mailserver, "ban@example.org")) == 3
    assert len(await mailserver.inbox(new)) == 4  # every message was delivered


async def test_r13_7_no_notice_for_bulk_automatic_or_null_sender_mail(mailserver: MailServer) -> None:
    mapped = await _import(mailserver)
    mailserver.resolver.failing = frozenset({"example.org"})
    old = "nvminh@soctrang.gov.vn"
    for extra in (
        "Precedence: bulk\r\n",
        "List-Id: <tin.example.org>\r\n",
        "Auto-Submitted: auto-replied\r\n",
    ):
        await call(_send, mailserver, old, message(to=old, subject=extra[:10], extra=extra))
    await call(_send, mailserver, old, message(to=old), "")  # a bounce
    await call(_send, mailserver, old, message(to=old), "noreply@example.org")
    assert await _notices_to(mailserver, "ban@example.org") == []
    assert await _notices_to(mailserver, "noreply@example.org") == []
    assert len(await mailserver.inbox(mapped[old])) == 5


async def test_r13_7_notices_off_by_default(mailserver: MailServer) -> None:
    await _import(mailserver)
    settings = mailserver.services.router.ctx.settings
    mailserver.services.router.ctx.settings = dataclasses.replace(settings, former=FormerSettings())
    mailserver.services.pipeline.settings = mailserver.services.router.ctx.settings
    mailserver.resolver.failing = frozenset({"example.org"})
    await call(_send, mailserver, "nvminh@soctrang.gov.vn", message(to="nvminh@soctrang.gov.vn"))
    assert await _notices_to(mailserver, "ban@example.org") == []


def _imap(mailserver: MailServer, login: str) -> str:
    client = imaplib.IMAP4_SSL("127.0.0.1", mailserver.port("imaps"), ssl_context=insecure_tls(), timeout=30)
    try:
        client.login(login, PASSWORD)
        client.select("INBOX")
        return "ok"
    except imaplib.IMAP4.error as refused:
        return str(refused)
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()


def _pop3(mailserver: MailServer, login: str) -> str:
    client = poplib.POP3_SSL("127.0.0.1", mailserver.port("pop3s"), context=insecure_tls(), timeout=30)
    try:
        client.user(login)
        client.pass_(PASSWORD)
        return "ok"
    except poplib.error_proto as refused:
        return str(refused)
    finally:
        client.quit()


def _smtp_auth(mailserver: MailServer, login: str) -> str:
    client = mailserver.client("submission")
    try:
        client.starttls(context=insecure_tls())
        client.login(login, PASSWORD)
        return "ok"
    except smtplib.SMTPAuthenticationError as refused:
        return f"{refused.smtp_code} {refused.smtp_error!r}"
    finally:
        client.quit()


def _web(mailserver: MailServer, login: str) -> int:
    site = f"http://127.0.0.1:{mailserver.port('http')}"
    with httpx.Client(base_url=site, headers={"Origin": site}, timeout=60) as browser:

        def with_cookies(request: httpx.Request) -> None:  # the `__Host-` cookies, as Chromium sends them
            request.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar)

        browser.event_hooks["request"] = [with_cookies]
        form = browser.get("/dang-nhap")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text[:300]
        signed = browser.post(
            "/dang-nhap", data={"login": login, "password": PASSWORD, "csrf": token.group(1)}
        )
        return signed.status_code


async def test_r13_7_old_address_signs_in_until_the_operators_date(mailserver: MailServer) -> None:
    mapped = await _import(mailserver)
    old = "nvminh@haugiang.gov.vn"
    new = mapped[old]
    clock = Clock(dt.datetime.now(dt.UTC))
    mailserver.services.router.ctx.clock = clock
    assert await call(_imap, mailserver, "NVMinh@HauGiang.gov.vn") == "ok"
    assert await call(_pop3, mailserver, old) == "ok"
    assert await call(_smtp_auth, mailserver, old) == "ok"
    assert await call(_web, mailserver, old) == 303
    account = await mailserver.services.directory.accounts.get(new)
    events = await mailserver.services.directory.ctx.access_log.recent(account.id)
    by_old = [e for e in events if e.login == old and e.result == accesslog.SUCCESS]
    assert {e.protocol for e in by_old} == {"imap", "pop3", "submission", "web"}  # the address used, kept
    # The address signed in to is the person's own, not nvminh@cantho.gov.vn: no mail crosses.
    assert {e.address for e in events} == {new}

    clock.advance(days=1)  # the day after `former.signin_until`
    assert await call(_imap, mailserver, old) != "ok"
    assert (await call(_pop3, mailserver, old)) != "ok"
    assert (await call(_smtp_auth, mailserver, old)).startswith("535")
    assert await call(_web, mailserver, old) != 303
    assert await call(_imap, mailserver, new) == "ok"  # the new address, as ever
    # After the date the old address names no account: its attempts are logged as any unknown login's,
    # tied to no mailbox (nothing says the address was ever someone's).
    unknown = await mailserver.services.directory.ctx.access_log.search(AccessQuery(login=old))
    failed = [e for e in unknown if e.result != accesslog.SUCCESS]
    assert {e.protocol for e in failed} == {"imap", "pop3", "submission", "web"}  # smtplib tries two ways
    assert {e.account_id for e in failed} == {None} and {e.result for e in failed} == {"bad_credentials"}
