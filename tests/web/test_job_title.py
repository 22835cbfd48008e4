"""A person's job title on the administration portal, in a real browser: an operator sets it on the
account's page (audited, then shown in the address book), one too long is refused and the page says
why; the one-person request form carries it to the preview."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401  (the fixture)


def test_an_operator_sets_a_job_title_shown_in_the_book(portal: RunningServer, page) -> None:  # noqa: F811
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/hop-thu/lvbinh")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/hop-thu/lvbinh")
    expect(page.locator(".facts")).to_contain_text("(chưa ghi)")
    page.locator("summary", has_text="Đổi chức vụ").click()
    page.get_by_label("Chức vụ (để trống là không ghi)").fill("Phó Giám đốc")
    page.get_by_label("Lý do (có thể để trống)").fill("QĐ 9/QĐ-UBND")
    page.get_by_role("button", name="Lưu chức vụ").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu chức vụ")
    expect(page.locator(".facts")).to_contain_text("Phó Giám đốc")
    expect(page.locator("table.history")).to_contain_text("Đổi chức vụ")
    expect(page.locator("table.history")).to_contain_text("QĐ 9/QĐ-UBND")
    assert problems(page) == []

    page.locator("summary", has_text="Đổi chức vụ").click()
    field = page.get_by_label("Chức vụ (để trống là không ghi)")
    field.evaluate("node => node.removeAttribute('maxlength')")  # as a script or an old browser would
    field.fill("Phó Giám đốc " * 10)
    page.get_by_role("button", name="Lưu chức vụ").click()
    expect(page.get_by_role("alert")).to_contain_text("quá 100 ký tự")
    assert portal.run(portal.services.directory.accounts.get("lvbinh")).job_title == "Phó Giám đốc"

    page.goto("/danh-ba?co-quan=soyt")
    expect(page.get_by_role("table", name="Lãnh đạo trước, rồi theo tên")).to_contain_text("Phó Giám đốc")


def test_the_one_person_request_carries_the_title(portal: RunningServer, page) -> None:  # noqa: F811
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/yeu-cau/moi")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(re.compile(r".*/quan-tri/yeu-cau/moi$"))
    one = page.get_by_role("region", name="Cấp hộp thư cho một người")
    one.get_by_label("Họ", exact=True).fill("Võ")
    one.get_by_label("Tên", exact=True).fill("An")
    one.get_by_label("Chức vụ (có thể để trống)").fill("Chuyên viên")
    one.get_by_role("button", name="Xem trước").click()
    expect(page.locator("table.preview")).to_contain_text("Chuyên viên")
    page.get_by_role("button", name="Gửi yêu cầu").click()
    (filed,) = portal.run(portal.services.directory.requests.list(status="pending"))
    assert filed.payload["job_title"] == "Chuyên viên"
