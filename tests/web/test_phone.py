"""The webmail on a phone, in a real browser at 360 and 390 px wide: the list and a message's text on
the first screen, the folders behind a menu, Compose and Reply where the thumb is, nothing wider than
the screen; and on a desktop the folders always shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in

LONG = "Kính gửi các đơn vị trực thuộc, đề nghị triển khai kế hoạch.\n" * 60


@pytest.fixture
def phone(imapserver: RunningServer, browser, site: str, request):
    """A phone-sized page signed in as nvminh, with a few long letters in the inbox."""
    for n in range(6):
        imapserver.deliver(
            "nvminh",
            message(
                f"Công văn số {n} về việc triển khai kế hoạch chuyển đổi số năm 2027",
                LONG,
                sender='"Nguyễn Thị Ngọc Ánh (Sở Tài chính)" <ntnanh@cantho.gov.vn>',
            ),
        )
    width = request.param
    context = browser.new_context(
        base_url=site,
        locale="vi-VN",
        viewport={"width": width, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    yield page
    context.close()


def fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def within_first_screen(page, box: dict) -> bool:
    return box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


@pytest.mark.parametrize("phone", [360, 390], indirect=True)
def test_the_list_starts_on_the_first_screen(phone) -> None:
    page = phone
    fits_the_screen(page)
    folders = page.get_by_role("navigation", name="Thư mục")
    expect(folders).to_be_hidden()
    first = page.get_by_role("link", name="Công văn số 5 về việc").bounding_box()
    assert first and within_first_screen(page, first) and first["y"] < 740 / 2
    compose = page.get_by_role("link", name="Soạn thư").bounding_box()
    assert compose and within_first_screen(page, compose) and compose["y"] > 740 * 0.8  # by the thumb
    menu = page.get_by_role("button", name="Thư mục: Hộp thư đến")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    folders.get_by_role("link", name="Thư nháp").first.click()
    page.wait_for_url("**/thu/*")
    expect(page.get_by_role("heading", name="Thư nháp")).to_be_visible()


@pytest.mark.parametrize("phone", [360, 390], indirect=True)
def test_a_message_starts_on_the_first_screen_with_reply_by_the_thumb(phone) -> None:
    page = phone
    page.get_by_role("link", name="Công văn số 2 về việc").click()
    page.wait_for_load_state("load")
    expect(page.locator("iframe.body")).to_have_attribute("style", re.compile("height"))  # grown to its text
    fits_the_screen(page)
    text = page.locator("iframe.body").bounding_box()
    assert text and text["y"] < 740 * 0.6
    reply = page.get_by_role("link", name="Trả lời", exact=True)
    for scrolled in (0, 2000):
        page.evaluate(f"window.scrollTo(0, {scrolled})")
        box = reply.bounding_box()
        assert box and within_first_screen(page, box) and box["y"] > 740 * 0.8, scrolled
    assert page.get_by_role("link", name="Soạn thư").is_hidden()  # Reply takes its place
    reply.click()
    page.wait_for_url("**/soan-thu?*")
    fits_the_screen(page)


def test_a_desktop_shows_the_folders_without_a_menu(imapserver: RunningServer, page) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    expect(page.get_by_role("navigation", name="Thư mục")).to_be_visible()
    assert page.locator(".menu-toggle").is_hidden()
    assert page.get_by_role("link", name="Thư của tôi").is_hidden()  # the folders are beside it
