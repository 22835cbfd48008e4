"""Keyboard shortcuts of the webmail (static/keys.js), in a real browser: each key does what the
button or link it stands for does, and none fires while the person types or holds a modifier."""

from __future__ import annotations

import re

import pytest

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems


@pytest.fixture
def inbox(imapserver: RunningServer, page):
    imapserver.deliver("nvminh", message("Giấy mời họp", "Kính mời."))
    imapserver.deliver("nvminh", message("Báo cáo quý", "Gửi anh báo cáo."))
    imapserver.deliver("nvminh", message("Công văn số 9", "Kính gửi."))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    return page


def _subjects(page) -> list[str]:
    return page.locator("table.messages tbody tr td:nth-child(3) > a").all_inner_texts()


def test_j_k_and_enter_open_the_second_message_and_r_replies(inbox) -> None:
    page = inbox
    second = page.locator("table.messages tbody tr").nth(1).locator("td:nth-child(3) > a")
    subject, href = second.inner_text(), second.get_attribute("href")
    for key in ("j", "j", "k", "ArrowDown"):
        page.keyboard.press(key)
    assert page.evaluate("() => document.activeElement.textContent.trim()") == subject
    current = page.locator("tr.key-current")
    assert current.count() == 1 and current.locator("td:nth-child(3) > a").inner_text() == subject
    assert problems(page) == []  # the marked row keeps its contrast
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{href}")
    assert page.get_by_role("heading", level=1).inner_text() == subject
    uid = href.rsplit("/", 1)[1]
    page.keyboard.press("r")
    page.wait_for_url(re.compile(rf"/soan-thu\?kieu=tra-loi&thu=\d+&uid={uid}$"))
    assert subject in page.get_by_label("Tiêu đề").input_value()


def test_slash_focuses_the_search_box_and_typing_there_is_not_a_shortcut(inbox) -> None:
    page = inbox
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.id") == "search-box"
    assert page.locator("#search-box").input_value() == ""  # the slash was not typed
    page.locator("table.messages tbody tr td:nth-child(3) > a").first.click()
    page.wait_for_url("**/thu/*/*")
    address = page.url
    page.keyboard.press("/")
    page.keyboard.type("rafu")
    page.wait_for_timeout(300)
    assert page.url == address
    assert page.locator("#search-box").input_value() == "rafu"


def test_modifier_keys_are_left_to_the_browser(inbox) -> None:
    page = inbox
    address = page.url
    page.keyboard.press("Alt+c")
    page.keyboard.press("Control+j")
    page.wait_for_timeout(300)
    assert page.url == address
    assert page.locator("tr.key-current").count() == 0


def test_x_chooses_and_hash_deletes(inbox) -> None:
    page = inbox
    before = _subjects(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert page.locator("tr.key-current input[name=uid]").is_checked()
    with page.expect_navigation():
        page.keyboard.press("#")
    page.wait_for_load_state("load")
    assert _subjects(page) == [before[0], before[2]]
    page.locator("nav.folders a", has_text="Thùng rác").first.click()  # my own, then the agency's
    page.wait_for_url("**/thu/*")
    assert _subjects(page) == [before[1]]


def test_c_composes_and_u_goes_back(inbox) -> None:
    page = inbox
    folder = page.url
    page.keyboard.press("o")  # nothing current yet: nothing happens
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url("**/thu/*/*")
    page.keyboard.press("u")
    page.wait_for_url(folder)
    page.keyboard.press("?")
    page.wait_for_url("**/tro-giup/phim-tat")
    page.go_back()
    page.wait_for_url(folder)
    page.keyboard.press("c")
    page.wait_for_url("**/soan-thu")
    page.locator("h1").click()  # out of the fields: a key is still not a shortcut here
    page.keyboard.press("u")
    page.keyboard.press("?")
    page.wait_for_timeout(300)
    assert page.url.endswith("/soan-thu")
