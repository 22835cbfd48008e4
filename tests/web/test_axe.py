"""WCAG 2.1 AA checked by axe-core on every page of the webmail and the portal, in Vietnamese and in
English, at a desktop and a phone width: no violation."""

from __future__ import annotations

import re

import pytest

from hopthu.web.help import TOPICS
from tests.imap.conftest import RunningServer, message
from tests.web.axe import violations
from tests.web.conftest import sign_in
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401

WEBMAIL = [
    "{inbox}",
    "{message}",
    "/soan-thu",
    "/tim-kiem?q=cong+van",
    "/thu-muc",
    "/nhap-thu",
    "/cai-dat",
    "/doi-mat-khau",
]


def check(page, paths: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        page.goto(path)
        broken = violations(page)
        if broken:
            found[path] = broken
    return found


HELP = ["/tro-giup", *(f"/tro-giup/{topic.slug}" for topic in TOPICS)]


def test_signed_out_pages(imapserver: RunningServer, page) -> None:
    assert check(page, ["/dang-nhap", "/dang-nhap?lang=en", "/khong-co", *HELP]) == {}
    page.goto("/tro-giup?lang=en")
    assert check(page, HELP) == {}


@pytest.mark.parametrize("width", [1280, 390])
def test_webmail_pages(imapserver: RunningServer, page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    # The letter has a conversation: one before it in Sent, an answer after it in Archive.
    imapserver.deliver("nvminh", message("Công văn số 7", "Bản dự thảo."), "Sent")
    imapserver.deliver("nvminh", message("Công văn số 7", "Kính gửi các đơn vị."))
    imapserver.deliver("nvminh", message("Re: Công văn số 7", "Đã nhận, cảm ơn."), "Archive")
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    inbox = page.url
    letter = page.get_by_role("link", name="Công văn số 7").get_attribute("href") or ""
    paths = [p.format(inbox=inbox, message=letter) for p in WEBMAIL]
    found = check(page, paths)
    page.goto("/thu?lang=en")
    found |= {f"{p} (en)": v for p, v in check(page, paths).items()}
    assert found == {}


def test_portal_pages(portal: RunningServer, page) -> None:  # noqa: F811
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    page.wait_for_url(re.compile(r".*/quan-tri/xac-thuc/dang-ky.*"))
    assert violations(page) == []
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(re.compile(r".*/quan-tri$"))
    paths = [
        a.get_attribute("href") or ""
        for a in page.get_by_role("navigation", name="Quản trị").get_by_role("link").all()
    ]
    found = check(page, [p for p in paths if p.startswith("/quan-tri")])
    assert found == {}
