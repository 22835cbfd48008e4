"""The protection pages in a real browser: the operator's "Thư bị giữ lại" (a held message's
verdict, headers and text preview with its HTML never rendered, delivered with a reason), the city's
sender lists in the portal, and a person's own lists in the webmail settings."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from hopthu.directory.auth import Identity
from hopthu.mail import canonical, parse
from hopthu.protection.verdicts import Action, Inspection, Verdict
from hopthu.smtp.pipeline import Incoming
from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401  (the fixture)

HELD = canonical(
    b"From: lvbinh@cantho.gov.vn\r\nTo: ttnanh@cantho.gov.vn\r\nSubject: Nhan qua ngay\r\n"
    b"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMessage-ID: <held@cantho.gov.vn>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p>Bam vao day</p><img src=x onerror=\"document.title='pwned'\">"
    b"<script>document.title='pwned'</script>\r\n"
)


def hold(server: RunningServer) -> int:
    async def go() -> int:
        services = server.services
        found = await services.directory.accounts.get("lvbinh")
        identity = Identity(found.id, found.local, "lvbinh@cantho.gov.vn", found.kind, found.display_name)
        incoming = Incoming(HELD, "lvbinh@cantho.gov.vn", ["ttnanh@cantho.gov.vn"], "web", identity=identity)
        inspection = Inspection(Action.HOLD, Verdict.SPAM, score=12.0, symbols={"PHISH_LIKE": 8.0})
        await services.pipeline.holding.hold(
            incoming, HELD, parse(HELD), b"X-Spam-Score: 12.0\r\n", inspection
        )
        (held,) = await services.quarantine.store.listing()
        return held.id

    return server.run(go())


def test_an_operator_reviews_and_delivers_held_mail_and_keeps_the_city_lists(
    portal: RunningServer,  # noqa: F811
    page,
) -> None:
    held_id = hold(portal)
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/thu-giu-lai")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(re.compile(r".*/quan-tri/thu-giu-lai$"))
    row = page.locator("table.held tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("lvbinh@cantho.gov.vn")
    expect(row).to_contain_text("12.0")
    expect(row).to_contain_text("PHISH_LIKE")
    page.get_by_role("link", name="Nhan qua ngay").click()
    expect(page.locator("pre.preview")).to_contain_text("Bam vao day")
    expect(page.locator("table.headers")).to_contain_text("X-Spam-Score")
    assert page.title() != "pwned" and page.locator("pre.preview img").count() == 0
    page.get_by_label("Lý do chuyển đi").fill("Đã gọi điện xác minh với người gửi")
    page.get_by_role("button", name="Chuyển thư đi").click()
    expect(page.get_by_role("status")).to_contain_text(f"Đã chuyển thư số {held_id} đến 1 người nhận")
    assert portal.run(portal.services.quarantine.store.get(held_id)).status == "released"

    page.get_by_role("link", name="Chặn và cho phép người gửi").click()
    page.get_by_label("Địa chỉ hoặc @tên-miền").fill("ban@")
    page.get_by_role("button", name="Thêm").click()
    expect(page.get_by_role("alert")).to_contain_text("không phải địa chỉ thư")
    page.get_by_label("Địa chỉ hoặc @tên-miền").fill("@Lua-Dao.example")
    page.get_by_role("button", name="Thêm").click()
    expect(page.get_by_role("status")).to_contain_text("@lua-dao.example")
    assert portal.run(portal.services.directory.sender_rules.city({"ke@lua-dao.example"})) == "block"
    page.get_by_role("button", name="Bỏ @lua-dao.example").click()
    expect(page.get_by_role("status")).to_contain_text("Đã bỏ @lua-dao.example")


def test_a_person_keeps_own_lists_in_the_settings(portal: RunningServer, page) -> None:  # noqa: F811
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/cai-dat")
    section = page.locator("section", has=page.get_by_role("heading", name="Chặn và cho phép người gửi"))
    section.get_by_label("Địa chỉ hoặc @tên-miền").fill("QuangCao@example.org")
    section.get_by_role("button", name="Thêm").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu danh sách")
    expect(section).to_contain_text("quangcao@example.org")
    section.get_by_label("Địa chỉ hoặc @tên-miền").fill("quangcao@example.org")
    section.get_by_role("button", name="Thêm").click()
    expect(section.get_by_role("alert")).to_contain_text("đã có trong danh sách chặn")
    anh = portal.account_id("ttnanh")
    found = portal.run(portal.services.directory.sender_rules.for_recipients({anh}, {"quangcao@example.org"}))
    assert found == {anh: "block"}
    section.get_by_role("button", name="Bỏ quangcao@example.org").click()
    expect(section).to_contain_text("Chưa có")
    assert portal.run(portal.services.directory.sender_rules.listing(anh)) == []
