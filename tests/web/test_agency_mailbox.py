"""An agency mailbox delegated to a person (R8.2) is one click away in the webmail, with its own
folders; reading and acting there change the agency's mailbox, not the person's."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in


def test_the_delegated_agency_mailbox(imapserver: RunningServer, page) -> None:
    imapserver.deliver("sonv", message("Công văn gửi Sở Nội vụ", "Kính gửi Sở."))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    folders = page.get_by_role("navigation", name="Thư mục")
    expect(folders.get_by_role("heading", name="Sở Nội vụ")).to_be_visible()
    folders.get_by_role("link", name="Hộp thư đến").nth(1).click()  # the agency's INBOX
    page.get_by_role("link", name="Công văn gửi Sở Nội vụ").click()
    expect(page.frame_locator("#body-frame").locator("pre")).to_contain_text("Kính gửi Sở.")
    imap = imapserver.login()
    imap.select('"Shared/sonv/INBOX"')
    assert b"\\Seen" in imap.fetch("1", "FLAGS")[1][0]  # read in the agency's mailbox
    imap.logout()


def test_an_undelegated_person_cannot_open_it(imapserver: RunningServer, page) -> None:
    imapserver.deliver("sonv", message("Công văn nội bộ"))
    box = imapserver.run(imapserver.services.store.mail.mailbox(imapserver.account_id("sonv"), "INBOX"))
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    assert page.goto(f"/thu/{box.id}").status == 404
    assert page.goto(f"/thu/{box.id}/1").status == 404
