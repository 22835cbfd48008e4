"""What a person meets on their first day, in a real browser: the forced password change (refusing
their own name, then on to their mail), the QR code of the portal's second factor scanned as a phone
would, error pages that keep who is signed in, the site's icon, the portal link of administrators and
the sessions named by device."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from hopthu.directory.people import PersonRow
from hopthu.web.devices import describe_device
from tests.imap.conftest import RunningServer
from tests.smtp.conftest import PASSWORD
from tests.web.axe import violations
from tests.web.conftest import sign_in
from tests.web.test_admin import portal  # noqa: F401


def test_the_enrolment_qr_code_scans(portal: RunningServer, page, tmp_path: Path) -> None:  # noqa: F811
    """The code as drawn on the page decodes to the key shown beside it (a cropped code does not)."""
    scanner = shutil.which("zbarimg")
    if scanner is None:
        pytest.skip("zbarimg (Debian's zbar-tools, which .ci/system-packages installs) is missing")
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    page.wait_for_url(re.compile(r".*/quan-tri/xac-thuc/dang-ky.*"))
    secret = page.locator("#secret").inner_text().replace(" ", "")
    drawn = page.locator("figure.qr svg")
    box = drawn.bounding_box()
    assert box and abs(box["width"] - box["height"]) < 1
    picture = tmp_path / "qr.png"
    drawn.screenshot(path=str(picture))
    read = subprocess.run(
        [scanner, "--raw", "-q", str(picture)], capture_output=True, text=True, timeout=30, check=False
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.startswith("otpauth://totp/") and f"secret={secret}" in read.stdout


def test_a_forced_change_refuses_the_persons_name_then_goes_on_to_mail(
    imapserver: RunningServer, page
) -> None:
    """R5.3 beside the name rule; after a change R5.2 forced, the person is in their inbox."""
    temporary = imapserver.run(imapserver.services.directory.accounts.reset_password("nvminh", actor="test"))
    sign_in(page, "nvminh", temporary)
    page.wait_for_url("**/doi-mat-khau")
    rule = page.locator('[data-rule="personal"]')
    page.get_by_label("Mật khẩu hiện tại").fill(temporary)
    page.get_by_label("Mật khẩu mới", exact=True).fill("Nvminh@2026")
    expect(rule).not_to_have_class(re.compile("met"))
    page.get_by_label("Nhập lại mật khẩu mới").fill("Nvminh@2026")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    expect(page.get_by_role("alert")).to_contain_text("không được chứa tên đăng nhập hay tên của bạn")
    page.get_by_label("Mật khẩu hiện tại").fill(temporary)
    page.get_by_label("Mật khẩu mới", exact=True).fill(PASSWORD)
    expect(rule).to_have_class(re.compile("met"))
    page.get_by_label("Nhập lại mật khẩu mới").fill(PASSWORD)
    page.get_by_role("button", name="Đổi mật khẩu").click()
    page.wait_for_url(re.compile(r".*/thu/\d+\?doi-mat-khau=1$"))
    expect(page.get_by_role("status")).to_contain_text("Đã đổi mật khẩu")
    expect(page.get_by_role("heading", name="Hộp thư đến")).to_be_visible()
    expect(page.locator("#tour")).to_have_count(0)  # a reset password: they have been here before


def test_error_pages_keep_the_person_and_the_way_out(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    for path, status in (("/thu/999999", 404), ("/khong-co-trang-nay", 404), ("/quan-tri", 403)):
        assert page.goto(path).status == status, path
        header = page.locator("header.top")
        expect(header).to_contain_text("Nguyễn Văn Minh")
        expect(header.get_by_role("button", name="Đăng xuất")).to_be_visible()
        expect(header.get_by_role("link", name="Thư của tôi")).to_be_visible()
    page.locator("header.top").get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/dang-nhap")


def test_the_site_has_an_icon(imapserver: RunningServer, page) -> None:
    failed: list[str] = []
    page.on("response", lambda answer: answer.status >= 400 and failed.append(answer.url))
    page.goto("/dang-nhap")
    page.wait_for_load_state("networkidle")
    assert failed == []
    icon = page.request.get("/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert page.request.get(page.locator('link[rel="icon"]').get_attribute("href") or "").status == 200


def test_administrators_have_a_link_to_the_portal(portal: RunningServer, page) -> None:  # noqa: F811
    sign_in(page, "lvbinh")  # no role
    page.wait_for_url("**/thu/*")
    assert page.get_by_role("link", name="Trang quản trị").count() == 0
    page.context.clear_cookies()
    sign_in(page, "ttnanh")  # the operator
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Trang quản trị").click()
    page.wait_for_url(re.compile(r".*/quan-tri/xac-thuc/dang-ky.*"))


def test_sessions_are_named_by_device(imapserver: RunningServer, browser) -> None:
    phone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    site = f"http://127.0.0.1:{imapserver.port('http')}"
    context = browser.new_context(base_url=site, locale="vi-VN", user_agent=phone)
    try:
        page = context.new_page()
        sign_in(page, "nvminh")
        page.wait_for_url("**/thu/*")
        page.goto("/cai-dat")
        expect(page.locator('tr[aria-current="true"]')).to_contain_text("Safari trên iPhone")
        assert "Mozilla" not in page.locator("section[aria-labelledby=sessions]").inner_text()
    finally:
        context.close()


@pytest.mark.parametrize(
    ("agent", "named"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge trên Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "coc_coc_browser/130.0.0 Chrome/124.0.0.0 Safari/537.36",
            "Cốc Cốc trên Windows",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome trên Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 Firefox/132.0",
            "Firefox trên macOS",
        ),
        ("", "Thiết bị không rõ"),
    ],
)
def test_device_names(agent: str, named: str) -> None:
    assert describe_device(agent)[0] == named


def test_a_new_persons_first_visit_shows_them_around(imapserver: RunningServer, page) -> None:
    directory = imapserver.services.directory
    (person,) = imapserver.run(
        directory.people.register([PersonRow("Lê", "Hoàng", "Nam", "sonv")], actor="test")
    )
    sign_in(page, person.address, person.temporary_password)
    page.wait_for_url("**/doi-mat-khau")
    page.get_by_label("Mật khẩu hiện tại").fill(person.temporary_password)
    page.get_by_label("Mật khẩu mới", exact=True).fill(PASSWORD)
    page.get_by_label("Nhập lại mật khẩu mới").fill(PASSWORD)
    page.get_by_role("button", name="Đổi mật khẩu").click()
    page.wait_for_url(re.compile(r".*/thu/\d+\?doi-mat-khau=1&chao=1$"))
    tour = page.get_by_role("dialog", name="Chào mừng đến Hộp Thư")
    expect(tour).to_be_visible()
    steps = tour.locator("li")
    expect(steps.nth(0)).to_be_visible()
    expect(steps.nth(1)).to_be_hidden()
    expect(page.locator(".compose-link a")).to_have_class(re.compile("tour-target"))
    assert violations(page) == []
    places = (
        (1, "#sidebar .folders"),
        (2, "#search-box"),
        (3, "header .account .who"),
        (4, "header .help-link"),
    )
    for shown, marked in places:
        tour.get_by_role("button", name="Tiếp").click()
        expect(steps.nth(shown)).to_be_visible()
        expect(page.locator(marked)).to_have_class(re.compile("tour-target"))
    expect(tour.get_by_role("button", name="Tiếp")).to_be_hidden()
    tour.get_by_role("button", name="Bắt đầu dùng").click()
    expect(tour).to_be_hidden()
    expect(page.locator(".tour-target")).to_have_count(0)  # undone by the dialog's close event
    expect(page).not_to_have_url(re.compile("chao"))
    page.reload()
    expect(page.locator("#tour")).to_have_count(0)
