"""Web pages in a real browser: Playwright driving the Chromium of Debian's `chromium` package (never a
downloaded browser), against a running server on its own loop (see tests/imap/conftest.py)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

from tests.imap.conftest import RunningServer, imapserver, resolver, server_settings  # noqa: F401
from tests.smtp.conftest import PASSWORD

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def site(imapserver: RunningServer) -> str:  # noqa: F811
    return f"http://127.0.0.1:{imapserver.port('http')}"


@pytest.fixture
def browser(site: str) -> Iterator:
    """One browser per test, started after the server (and the database) are ready: Playwright's
    synchronous API runs an event loop on this thread while it lives, and nothing else may then."""
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import expect, sync_playwright

    # Two test workers, their servers and their browsers share two cores: an assertion waits as long
    # as an action may (15 s), not Playwright's default 5 s, before calling a slow moment a failure.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, site: str) -> Iterator:
    context = browser.new_context(base_url=site, locale="vi-VN")
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def sign_in(page, login: str, password: str = PASSWORD, *, public: bool = False) -> None:
    """Through the sign-in page, as a person would."""
    page.goto("/dang-nhap")
    page.get_by_label("Địa chỉ thư").fill(login)
    page.get_by_label("Mật khẩu").fill(password)
    if public:
        page.get_by_label(re.compile("máy tính công cộng")).check()
    page.get_by_role("button", name="Đăng nhập").click()
