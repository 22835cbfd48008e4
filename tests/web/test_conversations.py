"""A conversation on the reading page, in a real browser: a letter, the reply written in the webmail
(filed in Sent), and the answer to it are shown together when the answer is opened, the older ones
collapsed and openable, on a desktop and on a 390 px phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in
from tests.web.test_compose import parsed, stored

# Search, conversations and sorting are queries that differ by backend: in the browser on both.
pytestmark = pytest.mark.both_backends


def converse(imapserver: RunningServer, page) -> str:
    """ttnanh receives a letter, replies to it from the webmail and gets an answer; the answer's page."""
    uid = imapserver.deliver(
        "ttnanh",
        message(
            "Xin số liệu quý I",
            "Chị gửi giúp em số liệu của phường.",
            sender="Nguyễn Văn Minh <nvminh@cantho.gov.vn>",
            to="ttnanh@cantho.gov.vn",
        ),
    )
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    inbox = page.url.rstrip("/").rsplit("/", 1)[-1]
    page.goto(f"/soan-thu?kieu=tra-loi&thu={inbox}&uid={uid}")
    page.wait_for_load_state("load")
    expect(page.get_by_label("Tiêu đề")).to_have_value("Re: Xin số liệu quý I")
    body = page.get_by_label("Nội dung")
    body.press("Control+Home")
    body.press_sequentially("Em gửi anh số liệu quý I.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    page.wait_for_url(re.compile(r"/thu/\d+\?da-gui="))  # back on the inbox, the sending done
    page.wait_for_load_state("load")
    # Off the inbox: its list reloads itself at news of a delivery, which would race the next goto.
    page.goto("about:blank")
    (sent,) = stored(imapserver, "ttnanh", "Sent")
    answer = imapserver.deliver(
        "ttnanh",
        message(
            "Re: Xin số liệu quý I",
            "Cảm ơn chị, anh đã nhận.",
            sender="Nguyễn Văn Minh <nvminh@cantho.gov.vn>",
            to="ttnanh@cantho.gov.vn",
            extra=f"In-Reply-To: {parsed(sent)['Message-ID']}\r\n",
        ),
    )
    imapserver.deliver(
        "ttnanh", message("Re: Xin số liệu quý I", "Thư của người khác.", to="ttnanh@cantho.gov.vn"), "Trash"
    )
    return f"/thu/{inbox}/{answer}"


def test_the_answer_shows_the_conversation(imapserver: RunningServer, page) -> None:
    opened = converse(imapserver, page)
    page.goto(opened)
    expect(page.get_by_role("heading", name="3 thư trong cuộc trao đổi")).to_be_visible()
    items = page.locator(".thread-item")
    expect(items).to_have_count(2)  # the two older ones; the one in Trash is not part of it
    first, reply = items.nth(0), items.nth(1)
    expect(first).to_contain_text("Nguyễn Văn Minh")
    expect(reply).to_contain_text("Đã gửi")  # filed in Sent
    expect(reply.locator(".thread-line")).to_contain_text("Em gửi anh số liệu quý I.")
    preview = first.locator(".thread-preview")
    expect(preview).to_be_hidden()  # collapsed
    first.locator("summary").click()
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Chị gửi giúp em số liệu của phường.")
    # The opened one is expanded as always: its own text in the frame.
    expect(page.frame_locator("#body-frame").locator("body")).to_contain_text("Cảm ơn chị, anh đã nhận.")
    reply.get_by_role("link", name=re.compile("^Mở thư")).click()
    page.wait_for_url("**/thu/*/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Re: Xin số liệu quý I")
    expect(page.get_by_role("heading", name="3 thư trong cuộc trao đổi")).to_be_visible()
    expect(page.get_by_role("heading", name="Thư sau thư này")).to_be_visible()  # the answer, after it
    expect(page.locator(".thread-item")).to_have_count(2)
    page.goto(f"{opened}?lang=en")
    expect(page.get_by_role("heading", name="3 messages in this conversation")).to_be_visible()


@pytest.mark.parametrize("width", [390])
def test_the_conversation_fits_a_phone(imapserver: RunningServer, browser, site: str, width: int) -> None:
    context = browser.new_context(
        base_url=site,
        locale="vi-VN",
        viewport={"width": width, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        opened = converse(imapserver, page)
        page.goto(opened)
        page.wait_for_load_state("load")
        expect(page.get_by_role("heading", name="3 thư trong cuộc trao đổi")).to_be_visible()
        page.locator(".thread-item summary").first.click()
        expect(page.locator(".thread-preview").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = page.locator(".thread-open").first.bounding_box()
        assert box and box["x"] + box["width"] <= width
    finally:
        context.close()
