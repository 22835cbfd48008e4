"""Requests through the portal in a real browser (R7, R10.3, R4.3b): an agency manager uploads a
200-row spreadsheet with three Nguyễn Văn Minh registered the same day at different ranks and a
fourth one; the preview shows nvminh, nvminh1, nvminh2 and an operator's choice; the operator takes
a proposal and approves the batch; the manager downloads the temporary passwords once; the new
people sign in and must change their password first (R5.2)."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from hopthu.directory.people import PersonRow
from hopthu.server import Server
from tests.imap.conftest import RunningServer, start_in_thread
from tests.smtp.conftest import PASSWORD
from tests.web.conftest import sign_in
from tests.web.test_admin import enter_code, pass_second_factor

FAMILIES = ["Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLES = ["Thị", "Văn", "Hữu", "Đức", "Thanh", "Minh", "Ngọc", "Quốc", "Gia", "Khánh"]
GIVENS = [
    "An",
    "Bảo",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hải",
    "Hạnh",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Khoa",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Nhung",
    "Phúc",
    "Quân",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tú",
]


@pytest.fixture
def registry(server_settings, resolver) -> Iterator[RunningServer]:
    """A directory with no Nguyễn Văn Minh yet: Sở Nội vụ with its manager (lvbinh), Sở Khoa học và
    Công nghệ with an operator (ttnanh)."""
    running = start_in_thread(Server(server_settings, resolver=resolver))

    async def setup() -> None:
        directory = running.services.directory
        await directory.agencies.add("Sở Nội vụ", actor="test")
        await directory.agencies.add("Sở Khoa học và Công nghệ", actor="test")
        rows = [PersonRow("Lê", "Văn", "Bình", "sonv"), PersonRow("Trần", "Thị Ngọc", "Ánh", "sokhcn")]
        for result in await directory.people.register(rows, actor="test"):
            await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
        await directory.roles.grant("ttnanh", "operator", actor="test")
        await directory.roles.grant("lvbinh", "agency_manager", agency_code="sonv", actor="test")

    try:
        running.run(setup())
        yield running
    finally:
        running.stop()


@pytest.fixture
def site(registry: RunningServer) -> str:
    return f"http://127.0.0.1:{registry.port('http')}"


def spreadsheet(path: Path) -> Path:
    """200 people of Sở Nội vụ: rows 2-4 three Nguyễn Văn Minh of 01/12/2026 at ranks 1, 3, 2,
    row 5 a fourth one the same day, then 196 others with distinct base addresses."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Họ", "Tên đệm", "Tên", "Mã cơ quan", "Cấp bậc", "Ngày"])
    for rank in (1, 3, 2, 0):
        sheet.append(["Nguyễn", "Văn", "Minh", "sonv", rank, "01/12/2026"])
    seen = {"nvminh", "lvbinh"}
    for family, middle, given in itertools.product(FAMILIES, MIDDLES, GIVENS):
        base = (family[0] + middle[0] + given).lower()
        if len(seen) == 198 or any(ord(c) > 127 for c in base) or base in seen:
            continue
        seen.add(base)
        sheet.append([family, middle, given, "sonv", 0, "01/12/2026"])
    assert sheet.max_row == 201
    book.save(path)
    return path


def test_a_list_from_preview_to_first_sign_in(
    registry: RunningServer, browser, site: str, tmp_path: Path
) -> None:
    manager = browser.new_context(base_url=site, locale="vi-VN")
    page = manager.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, "lvbinh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/yeu-cau/moi")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/yeu-cau/moi")
    with page.expect_download() as template:
        page.get_by_role("link", name="tệp mẫu (.xlsx)").click()
    headers = [
        c.value
        for c in openpyxl.load_workbook(io.BytesIO(template.value.path().read_bytes())).worksheets[0][1]
    ]
    assert headers == ["Họ", "Tên đệm", "Tên", "Mã cơ quan", "Cấp bậc", "Ngày", "Chức vụ"]

    page.get_by_label("Tệp danh sách").set_input_files(spreadsheet(tmp_path / "danh-sach.xlsx"))
    page.get_by_role("button", name="Xem trước").first.click()
    expect(page.get_by_role("status")).to_contain_text("200 dòng: 200 gửi được (1 cần Sở chọn địa chỉ)")
    rows = page.locator("table.preview tbody tr")
    addresses = [rows.nth(n).locator("td").last.inner_text() for n in range(4)]
    assert addresses[:3] == ["nvminh2", "nvminh", "nvminh1"]  # rank 3 first, then 2, then 1 (R4.3b)
    assert addresses[3].startswith("Sở chọn một trong: ")
    proposals = addresses[3].split(": ")[1].split(", ")
    page.get_by_role("button", name="Gửi 200 yêu cầu").click()
    page.wait_for_url(re.compile(r".*/quan-tri/yeu-cau\?lo=\w+.*"))
    batch = re.search(r"lo=(\w+)", page.url)[1]
    expect(page.locator("table.requests tbody tr")).to_have_count(200)
    expect(page.locator("table.requests")).not_to_contain_text("Duyệt")  # managers do not approve

    operator = browser.new_context(base_url=site, locale="vi-VN")
    desk = operator.new_page()
    desk.set_default_timeout(60_000)
    sign_in(desk, "ttnanh")
    desk.wait_for_url("**/thu/*")
    desk.goto(f"/quan-tri/yeu-cau?lo={batch}")
    enter_code(desk, pass_second_factor(desk, enrol=True))
    desk.wait_for_url(re.compile(r".*/quan-tri/yeu-cau\?lo=.*"))
    waiting = desk.locator("tr.choosing")
    expect(waiting).to_have_count(1)
    waiting.get_by_role("button", name=proposals[0], exact=True).click()  # one click takes one
    expect(desk.get_by_role("status")).to_contain_text("Đã duyệt yêu cầu số")
    desk.get_by_role("button", name=re.compile("Duyệt cả lô")).click()
    expect(desk.get_by_role("status")).to_contain_text("Đã duyệt 199 yêu cầu.")

    accounts = registry.services.directory.accounts
    minhs = {a.local: a.rank for a in registry.run(accounts.list(query="nguyen van minh"))}
    assert minhs == {"nvminh": 3, "nvminh1": 2, "nvminh2": 1, proposals[0]: 0}
    assert len(registry.run(accounts.list(agency_code="sonv", kind="personal"))) == 201

    page.goto("/quan-tri/yeu-cau")
    with page.expect_download() as sheet:
        page.get_by_role("button", name=re.compile("Tải mật khẩu tạm")).click()
    handed = {
        row[1]: row[3]
        for row in openpyxl.load_workbook(io.BytesIO(sheet.value.path().read_bytes()))
        .worksheets[0]
        .iter_rows(min_row=2, values_only=True)
    }
    assert len(handed) == 200
    page.reload()
    assert page.get_by_role("button", name=re.compile("Tải mật khẩu tạm")).count() == 0  # once only
    manager.close()

    newcomer = browser.new_context(base_url=site, locale="vi-VN").new_page()
    sign_in(newcomer, "nvminh", handed["nvminh@cantho.gov.vn"])
    newcomer.wait_for_url("**/doi-mat-khau")  # R5.2: nothing else before the change
    newcomer.goto("/thu")
    newcomer.wait_for_url("**/doi-mat-khau")

    inbox = registry.run(registry.services.store.mail.mailbox(registry.account_id("lvbinh"), "INBOX"))
    subjects = [m.subject for m in registry.run(registry.services.store.mail.messages(inbox.id, limit=20))]
    assert any(s.startswith("Đã nhận 200 yêu cầu") for s in subjects)
    assert any("199 yêu cầu đã được duyệt" in s for s in subjects)
