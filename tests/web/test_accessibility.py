"""Accessibility of the main pages, checked in the browser by `a11y.js` (names for every control,
one heading, unique ids, keyboard reach, WCAG AA contrast), with the keyboard alone, and on a phone
screen (nothing wider than the screen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in

CHECK = (Path(__file__).parent / "a11y.js").read_text()
PAGES = [
    "/thu",
    "{message}",
    "/soan-thu",
    "/tim-kiem?q=cong+van",
    "/thu-muc",
    "/nhap-thu",
    "/cai-dat",
    "/danh-ba?co-quan=sonv",
]


def problems(page) -> list[str]:
    page.wait_for_load_state("load")  # a page still being replaced has no document to check
    return page.evaluate(CHECK)


@pytest.fixture
def signed_in_page(imapserver: RunningServer, page):
    # The letter has a conversation: one before it in Sent, an answer after it in Archive.
    imapserver.deliver("nvminh", message("Công văn số 7", "Bản dự thảo."), "Sent")
    imapserver.deliver("nvminh", message("Công văn số 7", "Kính gửi các đơn vị."))
    imapserver.deliver("nvminh", message("Re: Công văn số 7", "Đã nhận, cảm ơn."), "Archive")
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    return page


def test_signed_out_pages(imapserver: RunningServer, page) -> None:
    page.goto("/dang-nhap")
    assert problems(page) == []
    page.goto("/dang-nhap?lang=en")
    assert problems(page) == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_main_pages_pass_the_check(signed_in_page, lang: str) -> None:
    page = signed_in_page
    letter = page.get_by_role("link", name="Công văn số 7").get_attribute("href")
    if lang == "en":
        page.goto("/thu?lang=en")
    for path in PAGES:
        page.goto(path.format(message=letter))
        assert problems(page) == [], path


def test_the_list_is_usable_with_the_keyboard(signed_in_page) -> None:
    """Tab reaches the message, the focus is visible on the way, Enter opens it."""
    page = signed_in_page
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const el = document.activeElement, s = getComputedStyle(el);
                return { text: el.textContent.trim(), outline: s.outlineStyle !== 'none'
                         && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none' }; }"""
        )
        assert focused["outline"], f"no visible focus on {focused['text']!r}"
        if focused["text"] == "Công văn số 7":
            break
    else:
        pytest.fail("the message could not be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/thu/*/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Công văn số 7"


@pytest.mark.parametrize("path", ["/thu", "{message}", "/soan-thu", "/cai-dat"])
def test_phone_screen(signed_in_page, path: str) -> None:
    page = signed_in_page
    letter = page.get_by_role("link", name="Công văn số 7").get_attribute("href")
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(path.format(message=letter))
    wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"{path} is {wide}px wider than the screen"


def test_the_check_finds_what_it_looks_for(signed_in_page) -> None:
    page = signed_in_page
    page.evaluate(  # styles set from script: the page's CSP refuses inline style attributes
        """() => { const main = document.querySelector('main');
            main.insertAdjacentHTML('beforeend', '<input type=text><p id=faint>Mờ quá</p><h1>Hai</h1>');
            document.getElementById('faint').style.color = '#bbb'; }"""
    )
    found = "\n".join(problems(page))
    assert "no accessible name: <input" in found
    assert 'for "Mờ quá"' in found
    assert "2 visible <h1>" in found
