"""Other domains' DMARC honoured at the MX (RFC 7489 §6.6): the record the author's domain publishes
decides, through the real server, what becomes of mail that fails it."""

from __future__ import annotations

import email
import email.policy

import pytest

from hopthu.smtp.authresults import Result
from hopthu.smtp.dmarc import evaluate
from hopthu.smtp.dns import StaticResolver
from tests.dmarc.conftest import send
from tests.imap.conftest import RunningServer, message


def mailbox(server: RunningServer, name: str) -> list[email.message.EmailMessage]:
    """The messages of nvminh's `name` mailbox, read over IMAP."""
    client = server.login()
    try:
        status, _ = client.select(name, readonly=True)
        assert status == "OK"
        _, found = client.search(None, "ALL")
        messages = []
        for number in found[0].split():
            _, parts = client.fetch(number, "(RFC822)")
            messages.append(email.message_from_bytes(parts[0][1], policy=email.policy.default))
        return messages
    finally:
        client.logout()


def subjects(server: RunningServer, name: str) -> list[str]:
    return [m["Subject"] for m in mailbox(server, name)]


def test_p_reject_failure_is_refused_at_data(dmarcserver: RunningServer) -> None:
    code, text = send(
        dmarcserver, message("Chuyển khoản gấp", sender="it@bank.example"), sender="it@bank.example"
    )
    assert code == 550 and "5.7.1" in text and "bank.example" in text and "p=reject" in text
    assert "Chuyển khoản gấp" not in subjects(dmarcserver, "INBOX") + subjects(dmarcserver, "Junk")


def test_p_quarantine_failure_goes_to_junk_with_the_verdict(dmarcserver: RunningServer) -> None:
    code, _ = send(dmarcserver, message("Khuyến mãi", sender="sale@shop.example"), sender="sale@shop.example")
    assert code == 250
    assert "Khuyến mãi" not in subjects(dmarcserver, "INBOX")
    (filed,) = [m for m in mailbox(dmarcserver, "Junk") if m["Subject"] == "Khuyến mãi"]
    assert filed["X-HopThu-Verdict"].startswith("dmarc;") and "p=quarantine" in filed["X-HopThu-Verdict"]
    assert "dmarc=fail" in filed["Authentication-Results"]


def test_pass_and_p_none_failure_reach_the_inbox(dmarcserver: RunningServer) -> None:
    assert (
        send(dmarcserver, message("Thư hợp lệ", sender="a@good.example"), sender="a@good.example")[0] == 250
    )
    assert send(dmarcserver, message("Bản tin", sender="b@news.example"), sender="b@news.example")[0] == 250
    inbox = mailbox(dmarcserver, "INBOX")
    by_subject = {m["Subject"]: m for m in inbox}
    assert "dmarc=pass" in by_subject["Thư hợp lệ"]["Authentication-Results"]
    assert "dmarc=fail" in by_subject["Bản tin"]["Authentication-Results"]
    assert all(m["X-HopThu-Verdict"] is None for m in inbox)


def test_a_subdomain_follows_sp_of_the_organizational_domain(dmarcserver: RunningServer) -> None:
    """p=reject at org.example, sp=none: its subdomain's failing mail is only marked (§6.3 sp)."""
    code, _ = send(
        dmarcserver, message("Từ tên miền con", sender="x@sub.org.example"), sender="x@sub.org.example"
    )
    assert code == 250
    assert "Từ tên miền con" in subjects(dmarcserver, "INBOX")
    code, _ = send(dmarcserver, message("Từ tên miền gốc", sender="x@org.example"), sender="x@org.example")
    assert code == 550


def test_a_dns_failure_never_refuses_or_files_away(dmarcserver: RunningServer) -> None:
    code, _ = send(dmarcserver, message("Khi DNS lỗi", sender="c@flaky.example"), sender="c@flaky.example")
    assert code == 250
    (delivered,) = [m for m in mailbox(dmarcserver, "INBOX") if m["Subject"] == "Khi DNS lỗi"]
    assert "dmarc=temperror" in delivered["Authentication-Results"]


@pytest.mark.parametrize(
    ("author", "policy"),
    [
        ("org.example", "reject"),
        ("a.org.example", "none"),
        ("b.a.org.example", "none"),
        ("own.example", "quarantine"),
    ],
)
async def test_sp_applies_to_subdomains_only(author: str, policy: str) -> None:
    resolver = StaticResolver(
        txt_records={
            "_dmarc.org.example": ["v=DMARC1; p=reject; sp=none"],
            "_dmarc.own.example": ["v=DMARC1; p=quarantine; sp=reject"],
        }
    )
    outcome = await evaluate(
        author, spf=(Result.FAIL, author), dkim=[], resolver=resolver, our_domains=["cantho.gov.vn"]
    )
    assert (outcome.result, outcome.policy) == (Result.FAIL, policy)


async def test_dns_failure_at_the_organizational_domain_is_a_temperror() -> None:
    resolver = StaticResolver(failing=frozenset({"_dmarc.org.example"}))
    outcome = await evaluate(
        "a.org.example", spf=(Result.FAIL, "a.org.example"), dkim=[], resolver=resolver, our_domains=[]
    )
    assert outcome.result is Result.TEMPERROR
