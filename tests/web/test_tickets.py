"""Mail to hotro@ becomes a ticket (R7.2), reports from the webmail too (R11.2): the operator reads it
in the portal, answers as hotro@ (the person receives the answer, the ticket closes), and the
person's reply to that answer opens the same ticket again."""

from __future__ import annotations

import email
import email.policy
import time

from playwright.sync_api import expect

from hopthu.smtp.pipeline import Incoming
from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401  (the fixture)
from tests.web.test_search_and_folders import PHISHING, make_helpdesk


def tickets(server: RunningServer, *, count: int, status: str | None = None) -> list:
    """The feedback requests, once `count` of them exist (they are filed beside delivery)."""
    deadline = time.monotonic() + 10
    while True:
        found = server.run(server.services.directory.requests.list(kind="feedback", status=status))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_a_report_becomes_a_ticket_answered_from_the_portal(
    portal: RunningServer,  # noqa: F811
    browser,
    site: str,
) -> None:
    make_helpdesk(portal)
    portal.deliver("nvminh", PHISHING)
    person = browser.new_context(base_url=site, locale="vi-VN").new_page()
    sign_in(person, "nvminh")
    person.wait_for_url("**/thu/*")
    person.get_by_role("link", name="Tài khoản của bạn sắp bị khóa").click()
    person.get_by_role("button", name="Báo cáo thư rác / lừa đảo").click()
    expect(person.get_by_text("Đã gửi báo cáo kèm thư gốc đến hotro@cantho.gov.vn")).to_be_visible()
    (ticket,) = tickets(portal, count=1)
    assert (
        ticket.channel == "mail"
        and ticket.agency_code == "sonv"
        and ticket.filed_by == "nvminh@cantho.gov.vn"
    )

    desk = browser.new_context(base_url=site, locale="vi-VN").new_page()
    desk.set_default_timeout(15_000)
    sign_in(desk, "ttnanh")
    desk.wait_for_url("**/thu/*")
    desk.goto("/quan-tri/yeu-cau?loai=feedback")
    enter_code(desk, pass_second_factor(desk, enrol=True))
    desk.get_by_role("link", name="Báo cáo thư rác / lừa đảo: Tài khoản của bạn sắp bị khóa").click()
    expect(desk.locator(".ticket-text").first).to_contain_text("báo cáo thư dưới đây là thư rác")
    with desk.expect_download() as original:
        desk.get_by_role("link", name="thư gốc (.eml)").click()
    assert (
        b"Tai khoan" in original.value.path().read_bytes()
        or b"Subject:" in original.value.path().read_bytes()
    )
    desk.get_by_label("Trả lời (gửi từ hotro@cantho.gov.vn)").fill(
        "Cảm ơn anh. Thư này là lừa đảo, đã chặn tên miền gửi."
    )
    desk.get_by_role("button", name="Gửi và đóng phiếu").click()
    expect(desk.get_by_role("status")).to_contain_text("Đã gửi câu trả lời")
    (closed,) = tickets(portal, count=1, status="approved")
    assert closed.decided_by == "ttnanh"

    mail = portal.services.store.mail
    inbox = portal.run(mail.mailbox(portal.account_id("nvminh"), "INBOX"))
    (answer,) = [m for m in portal.run(mail.messages(inbox.id)) if "hotro@" in m.sender]
    assert answer.subject == "Re: Báo cáo thư rác / lừa đảo: Tài khoản của bạn sắp bị khóa"
    received = email.message_from_bytes(
        portal.run(mail.message_bytes(inbox.id, answer.uid)), policy=email.policy.default
    )
    assert "đã chặn tên miền" in received.get_body(("plain",)).get_content()

    follow_up = (
        f"From: nvminh@cantho.gov.vn\r\nTo: hotro@cantho.gov.vn\r\nSubject: Re: {received['Subject']}\r\n"
        f"In-Reply-To: {received['Message-ID']}\r\nMessage-ID: <cam-on.1@cantho.gov.vn>\r\n"
        "\r\nCảm ơn hỗ trợ.\r\n"
    ).encode()
    portal.run(
        portal.services.pipeline.accept(
            Incoming(follow_up, "nvminh@cantho.gov.vn", ["hotro@cantho.gov.vn"], channel="system")
        )
    )
    portal.run(portal.services.pipeline.helpdesk.wait())
    (reopened,) = tickets(portal, count=1, status="pending")
    assert reopened.id == ticket.id and len(reopened.payload["messages"]) == 2
