"""The portal's pages as people read and use them: the audit log and the histories in words (no
internal codes)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from hopthu.directory import audit
from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401

RAW_CODE = re.compile(r"\b[a-z_]+\.[a-z_]+\b|\bbatch:|\brequest:")


def operator_at(page, path: str) -> None:
    """ttnanh, the operator, signed in with the second factor, on `path`."""
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto(path)
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(f"**{path}")


def test_the_audit_log_and_histories_speak_in_words(portal: RunningServer, page) -> None:  # noqa: F811
    directory = portal.services.directory
    batch = [("create", "sonv", {"family": "Phạm", "given": "Hùng", "agency": "sonv", "rank": 0})]
    portal.run(directory.requests.file_batch(batch, channel="portal", filed_by="nvminh", batch="ab12cd"))

    async def paused() -> None:
        async with portal.services.store.db.write() as conn:
            await audit.record(
                conn,
                at=directory.ctx.now(),
                actor="system",
                action="signin.paused",
                target="lvbinh",
                details={"source": "192.0.2.7", "protocol": "imap"},
            )

    portal.run(paused())
    operator_at(page, "/quan-tri/nhat-ky")
    table = page.locator("table.history")
    expect(table).to_contain_text("Thêm cơ quan, đơn vị")  # agency.created of Sở Y tế
    expect(table).to_contain_text("Gửi lô yêu cầu theo danh sách")
    expect(table).to_contain_text("Lô ab12cd")
    expect(table).to_contain_text("số yêu cầu: 1")
    expect(table).to_contain_text("Tạm dừng đăng nhập sau nhiều lần sai")
    expect(table).to_contain_text("từ địa chỉ: 192.0.2.7 · giao thức: imap")
    assert RAW_CODE.findall(table.inner_text().replace("192.0.2.7", "")) == []
    expect(page.locator("main")).not_to_contain_text("vd: account.")
    assert problems(page) == []

    choice = page.get_by_label("Thao tác")  # a choice of named acts, not a code to type
    assert choice.evaluate("e => e.tagName") == "SELECT"
    choice.select_option(label="Thêm cơ quan, đơn vị")
    page.get_by_role("button", name="Lọc").click()
    expect(page).to_have_url(re.compile(r"thao_tac=agency\.created"))
    acts = page.locator("table.history tbody td:nth-child(3)")
    expect(acts.first).to_have_text("Thêm cơ quan, đơn vị")
    assert set(acts.all_inner_texts()) == {"Thêm cơ quan, đơn vị"}
    expect(page.get_by_label("Thao tác")).to_have_value("agency.created")  # kept selected

    page.goto("/quan-tri/nhat-ky?lang=en")
    expect(page.locator("table.history")).to_contain_text("Batch of requests filed")
    expect(page.locator("table.history")).to_contain_text("Batch ab12cd")
    assert problems(page) == []
    page.goto("/quan-tri/co-quan/soyt?lang=vi")
    expect(page.locator("table.history")).to_contain_text("Thêm cơ quan, đơn vị")
    assert RAW_CODE.findall(page.locator("table.history").inner_text()) == []
    page.goto("/quan-tri/hop-thu/lvbinh")
    expect(page.locator("table.history")).to_contain_text("Cấp mới hộp thư")
    assert RAW_CODE.findall(page.locator("table.history").inner_text()) == []
