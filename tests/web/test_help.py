"""The help centre (R9.4, R9.5) and the keyboard shortcuts of the webmail, in a real browser: every
page passes the accessibility check in both languages, the set-up page shows the server the settings
name, the rules page says what `policy.passwords` enforces, and the keys do what the buttons do."""

from __future__ import annotations

import dataclasses
import re

import pytest

from hopthu.config import Settings
from hopthu.policy.passwords import MIN_LENGTH, password_problems, personal_words
from hopthu.web.help import TOPICS, listeners
from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems

PAGES = ["/tro-giup"] + [f"/tro-giup/{topic.slug}" for topic in TOPICS]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_help_page_passes_the_check(imapserver: RunningServer, page, lang: str) -> None:
    """One h1, names, contrast (a11y.js), the page's language, and every picture found."""
    page.goto(f"/tro-giup?lang={lang}")
    for path in PAGES:
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == lang
        assert problems(page) == [], path
        assert page.get_by_role("heading", level=1).count() == 1
        broken = page.evaluate("() => [...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
        assert broken == [], path


def test_help_pages_pass_the_check_signed_in_and_on_a_phone(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.set_viewport_size({"width": 360, "height": 740})
    for path in PAGES:
        page.goto(path)
        assert problems(page) == [], path
        wide = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{path} is {wide}px wider than the screen"


def test_an_unknown_topic_is_not_found(imapserver: RunningServer, page) -> None:
    assert page.goto("/tro-giup/khong-co").status == 404


def test_the_help_link_is_on_the_sign_in_page_and_in_the_inbox(imapserver: RunningServer, page) -> None:
    page.goto("/dang-nhap")
    page.get_by_role("link", name="Trợ giúp").click()
    page.wait_for_url("**/tro-giup")
    assert page.get_by_role("heading", level=1).inner_text() == "Trợ giúp sử dụng Hộp Thư"
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("banner").get_by_role("link", name="Trợ giúp").click()
    page.wait_for_url("**/tro-giup")
    page.get_by_role("link", name="Cài đặt Outlook, Thunderbird, điện thoại").first.click()
    page.wait_for_url("**/tro-giup/cai-dat-ung-dung")
    assert "nvminh@cantho.gov.vn" in page.locator("main").inner_text()  # the person's own user name


def _public(settings: Settings) -> Settings:
    """The ports of a production server (the tests' servers listen on ports picked at start)."""
    return dataclasses.replace(
        settings,
        smtp=dataclasses.replace(
            settings.smtp, hostname="thu.cantho.gov.vn", submissions_port=465, submission_port=587
        ),
        imap=dataclasses.replace(settings.imap, tls_port=993, port=143),
        pop3=dataclasses.replace(settings.pop3, tls_port=995, port=-1),
    )


def test_the_setup_page_shows_the_configured_server(imapserver: RunningServer, page) -> None:
    imapserver.services.settings = _public(imapserver.services.settings)
    page.goto("/tro-giup/cai-dat-ung-dung")
    rows = page.locator("table.help-settings tbody tr")
    found = [
        (row.get_attribute("class"), row.locator(".host").inner_text(), row.locator(".port").inner_text(),
         row.locator("td").last.inner_text())
        for row in rows.all()
    ]  # fmt: skip
    assert found == [
        ("imap", "thu.cantho.gov.vn", "993", "SSL/TLS"),
        ("imap", "thu.cantho.gov.vn", "143", "STARTTLS"),
        ("smtp", "thu.cantho.gov.vn", "465", "SSL/TLS"),
        ("smtp", "thu.cantho.gov.vn", "587", "STARTTLS"),
        ("pop3", "thu.cantho.gov.vn", "995", "SSL/TLS"),  # the plain POP3 port is off
    ]
    text = page.locator("main").inner_text()
    assert "thu.cantho.gov.vn, cổng 993, mã hóa SSL/TLS" in text  # Outlook's steps
    assert "nvminh@cantho.gov.vn" in text  # the user name to type, signed out: an example
    page.goto("/tro-giup/cai-dat-ung-dung?lang=en")
    assert "thu.cantho.gov.vn, port 465, encryption SSL/TLS" in page.locator("main").inner_text()


def test_ports_not_a_person_could_type_are_left_out(server_settings: Settings) -> None:
    """A listener turned off (-1) or on a port picked at start (0) is not offered."""
    offered = listeners(_public(server_settings))
    assert [listener.port for listener in offered["POP3"]] == [995]
    assert listeners(server_settings) == {"IMAP": [], "SMTP": [], "POP3": []}


def test_the_rules_page_states_the_password_rules_that_are_enforced(imapserver: RunningServer, page) -> None:
    """R5.3: the length and each of the four classes as `policy.passwords` names them; R5.2: the
    change every 3 months; and the example shown really passes."""
    page.goto("/tro-giup/quy-dinh")
    rules = page.locator("ul.password-rules").inner_text()
    assert f"có ít nhất {MIN_LENGTH} ký tự" in rules
    missing = [problem for problem in password_problems("") if problem.code.startswith("no_")]
    assert len(missing) == 4
    for problem in missing:
        assert problem.vi.removeprefix("cần ") in rules
    text = page.locator("main").inner_text()
    assert "ít nhất 3 tháng một lần" in text and "(R5.2, R6.4b)" in text and "(R5.3)" in text
    example = page.locator("main code", has_text=re.compile("!$")).inner_text()
    assert password_problems(example, personal=personal_words("nvminh", "Nguyễn Văn Minh")) == []
    page.goto("/tro-giup/quy-dinh?lang=en")
    rules = page.locator("ul.password-rules").inner_text()
    assert f"have at least {MIN_LENGTH} characters" in rules
    for problem in missing:
        assert problem.en.removeprefix("needs ") in rules
    text = page.locator("main").inner_text()
    assert "5 GB" in text and "10 GB" in text and "20 MB" in text  # R5.1's defaults
