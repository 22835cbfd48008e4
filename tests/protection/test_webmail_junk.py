"""Thư rác in the webmail of a real `hopthu serve` with the real rspamd: a person releases what was
filed as junk ("Không phải thư rác") and reports what was not ("Báo cáo thư rác / lừa đảo"), in
Debian's Chromium, and rspamd learns from both (its Bayes answers after one learn of each class)."""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Callable, Iterator

import pytest

from tests.hostile.conftest import PASSWORD, Served
from tests.protection.conftest import JUNK_MARKER, Engines
from tests.protection.test_served import DOMAIN, folder, letter, mx_send
from tests.web.conftest import CHROMIUM_ARGS, sign_in

SCORE = re.compile(rb"^X-Spam-Score: (-?[0-9.]+)\r?$", re.M)


@pytest.fixture
def served(start: Callable[..., Served], engines: Engines, dns_env: dict[str, str]) -> Served:
    engines.forget_learning()  # Bayes knows nothing until this test teaches it
    # The marker scores 50: between these thresholds it files to Thư rác, never refused.
    return start({**dns_env, **engines.env(junk_score="30", reject_score="100")})


@pytest.fixture
def page(served: Served) -> Iterator:
    """A browser on the served site, started after the server is up."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=served.http, locale="vi-VN")
        opened = context.new_page()
        opened.set_default_timeout(30_000)
        yield opened
        context.close()
        browser.close()


def word() -> str:
    """A made-up word (one of some 40 million)."""
    return "".join(secrets.choice("bcdghklmnpqrstvx") + secrets.choice("aeiou") for _ in range(4))


def score(data: bytes) -> float:
    found = SCORE.search(data)
    assert found, data[:600]
    return float(found.group(1))


def test_not_spam_releases_to_the_inbox_and_a_report_teaches_rspamd(served: Served, page) -> None:
    from playwright.sync_api import expect

    minh = served.account()
    to = f"{minh}@{DOMAIN}"
    token = secrets.token_hex(6)
    wanted = f"Giay moi hop {token}"
    code, _ = mx_send(
        served,
        to,
        letter(to, f"Kinh gui anh, giay moi hop giao ban {token} thu hai tuan sau. {JUNK_MARKER}", wanted),
    )
    assert code == 250
    assert len(folder(served, minh, "Junk")) == 1 and folder(served, minh, "INBOX") == []

    # Thư rác -> the message -> "Không phải thư rác": it is in the inbox, on the page and over IMAP.
    sign_in(page, minh, PASSWORD)
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Thư rác").first.click()
    expect(page.get_by_role("heading", name="Thư rác")).to_be_visible()
    page.get_by_role("link", name=wanted).click()
    page.get_by_role("button", name="Không phải thư rác").click()
    expect(page.get_by_role("heading", name="Hộp thư đến")).to_be_visible()
    expect(page.get_by_role("link", name=wanted)).to_be_visible()
    inbox = folder(served, minh, "INBOX")
    assert len(inbox) == 1 and f"Subject: {wanted}".encode() in inbox[0]
    assert folder(served, minh, "Junk") == []

    # An unwanted message in the inbox, reported: it goes to Thư rác and rspamd learns it as spam,
    # so the next copy of it scores higher than the first did. Bayes has learned only the released
    # message (as ham) before the report; this one's words are made up, none in that message.
    unwanted = f"{word()} {word()} {word()}".capitalize()
    spam = " ".join(word() for _ in range(40))
    code, _ = mx_send(served, to, letter(to, spam, unwanted))
    assert code == 250
    (first,) = [m for m in folder(served, minh, "INBOX") if f"Subject: {unwanted}".encode() in m]
    before = score(first)
    assert b"BAYES_SPAM" not in first
    # The list reloads itself when mail arrives (live news); a reload here would race with that one.
    link = page.get_by_role("link", name=unwanted)
    try:
        expect(link).to_be_visible(timeout=10_000)
    except AssertionError:  # the news came before the page was listening
        page.goto(page.url)
    link.click()
    page.get_by_role("button", name="Báo cáo thư rác / lừa đảo").click()
    expect(page.get_by_role("status").first).to_contain_text("vào Thư rác")
    expect(page.get_by_text(f"Đã gửi báo cáo kèm thư gốc đến hotro@{DOMAIN}")).to_be_visible()
    junk = folder(served, minh, "Junk")
    assert len(junk) == 1 and f"Subject: {unwanted}".encode() in junk[0]

    code, _ = mx_send(served, to, letter(to, spam, unwanted))
    assert code == 250
    (again,) = [m for m in folder(served, minh, "INBOX") if f"Subject: {unwanted}".encode() in m]
    assert b"BAYES_SPAM" in again and score(again) > before
