"""The portal's pages as people read and use them: the audit log and the histories in words (no
internal codes), a one-person request worded for one person with its agency's name, every form
answered by Post/Redirect/Get (a reload never does the act again), the add-agency button in the
normal colour, and headings ranked by size."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from hopthu.directory import audit
from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401

RAW_CODE = re.compile(r"\b[a-z_]+\.[a-z_]+\b|\bbatch:|\brequest:")
BRAND, DANGER = "rgb(11, 83, 148)", "rgb(164, 22, 26)"


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


def test_one_person_filed_then_approved_with_post_redirect_get(
    portal: RunningServer,  # noqa: F811
    browser,
    site: str,
) -> None:
    manager = browser.new_context(base_url=site, locale="vi-VN").new_page()
    manager.set_default_timeout(15_000)
    sign_in(manager, "nvminh")
    manager.wait_for_url("**/thu/*")
    manager.goto("/quan-tri/yeu-cau/moi")
    enter_code(manager, pass_second_factor(manager, enrol=True))
    manager.wait_for_url("**/quan-tri/yeu-cau/moi")
    manager.get_by_label("Họ", exact=True).fill("Phạm")
    manager.get_by_label("Tên", exact=True).fill("Hùng")
    manager.get_by_label("Cơ quan, đơn vị").select_option("sonv")
    manager.locator("#one-heading ~ form").get_by_role("button", name="Xem trước").click()
    expect(manager.get_by_role("heading", level=1)).to_have_text("Xem trước yêu cầu cấp hộp thư")
    main = manager.locator(".content")
    expect(main).to_contain_text("Yêu cầu gửi được.")
    expect(manager.locator("table.preview tbody td").nth(1)).to_have_text("Sở Nội vụ")  # not `sonv`
    for listy in ("danh sách", "Tải tệp khác", "dòng"):
        expect(main).not_to_contain_text(listy)
    expect(manager.get_by_role("link", name="← Sửa thông tin")).to_be_visible()
    assert problems(manager) == []
    manager.get_by_role("button", name="Gửi yêu cầu").click()
    manager.wait_for_url(re.compile(r".*/quan-tri/yeu-cau\?lo=\w+&trang_thai=pending$"))
    expect(manager.get_by_role("status")).to_contain_text("Đã gửi yêu cầu (lô")
    (filed,) = portal.run(portal.services.directory.requests.list(status="pending", kind="create"))

    desk = browser.new_context(base_url=site, locale="vi-VN").new_page()
    desk.set_default_timeout(15_000)
    operator_at(desk, "/quan-tri/yeu-cau")
    desk.get_by_role("button", name=f"Duyệt yêu cầu {filed.id}").click()
    desk.wait_for_url(re.compile(r".*/quan-tri/yeu-cau\?trang_thai=pending$"))  # the queue, by GET
    expect(desk.get_by_role("status")).to_contain_text(f"Đã duyệt yêu cầu số {filed.id}.")
    reloaded = desk.reload()
    assert reloaded is not None and reloaded.request.method == "GET" and reloaded.status == 200
    expect(desk.get_by_role("status")).to_have_count(0)  # said once
    approvals = portal.run(portal.services.directory.requests.get(filed.id))
    assert approvals.status == "approved"
    log = portal.run(portal.services.directory.accounts.history("phung"))
    assert [e.action for e in log].count("account.created") == 1

    desk.goto("/quan-tri/hop-thu/phung")  # an act on an account, and its password shown once
    desk.get_by_text("Cấp lại mật khẩu tạm").click()
    desk.get_by_label("Lý do (vd: số phiếu hỗ trợ)").fill("Phiếu hỗ trợ 9")
    desk.get_by_role("button", name="Cấp mật khẩu tạm").click()
    desk.wait_for_url(re.compile(r".*/quan-tri/hop-thu/phung$"))
    temporary = desk.locator("#temporary-password").inner_text()
    assert len(temporary) >= 12 and temporary not in desk.url
    desk.reload()
    expect(desk.locator("#temporary-password")).to_have_count(0)
    resets = [
        e for e in portal.run(portal.services.directory.accounts.history("phung")) if "reset" in e.action
    ]
    assert len(resets) == 1


def test_agency_forms_redirect_and_look_as_they_should(portal: RunningServer, page) -> None:  # noqa: F811
    operator_at(page, "/quan-tri/co-quan")
    add = page.locator("details.add-agency > summary")
    assert add.evaluate("e => getComputedStyle(e).backgroundColor") == BRAND
    assert add.evaluate("e => getComputedStyle(e).color") != DANGER
    assert problems(page) == []
    add.click()
    page.get_by_label("Tên", exact=True).fill("Sở Tư pháp")
    page.get_by_role("button", name="Thêm", exact=True).click()
    page.wait_for_url(re.compile(r".*/quan-tri/co-quan/sotp$"))
    expect(page.get_by_role("status")).to_contain_text("Đã thêm Sở Tư pháp.")
    page.get_by_text("Khai báo biên chế").click()
    page.get_by_label("Số biên chế").fill("12")
    page.get_by_role("button", name="Ghi").click()
    page.wait_for_url(re.compile(r".*/quan-tri/co-quan/sotp$"))
    expect(page.get_by_role("status")).to_contain_text("Đã ghi số biên chế.")
    page.reload()
    expect(page.get_by_role("status")).to_have_count(0)
    assert len([a for a in portal.run(portal.services.directory.agencies.list()) if a.code == "sotp"]) == 1
    declared = page.locator("summary", has_text="Khai báo biên chế")
    assert declared.evaluate("e => getComputedStyle(e).color") == BRAND  # not a destructive act
    dissolve = page.locator("summary", has_text="Giải thể")
    assert dissolve.evaluate("e => getComputedStyle(e).color") == DANGER

    sizes = page.evaluate(
        """() => {
          const content = document.querySelector('.admin .content');
          const size = tag => {
            const made = content.appendChild(document.createElement(tag));
            made.textContent = tag;
            const px = parseFloat(getComputedStyle(made).fontSize);
            made.remove();
            return px;
          };
          return [size('h1'), size('h2'), size('h3')];
        }"""
    )
    assert sizes[0] > sizes[1] > sizes[2], sizes
    shown_h1 = page.get_by_role("heading", level=1).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    shown_h2 = page.get_by_role("heading", level=2).first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert shown_h1 > shown_h2
    assert problems(page) == []


def test_a_requests_contents_are_named(portal: RunningServer, page) -> None:  # noqa: F811
    """The request page lists the fields by their names and a reason by the regulation's word."""
    directory = portal.services.directory
    payload = {"family": "Phạm", "middle": "Văn", "given": "Hùng", "agency": "sonv", "rank": 2, "line": 7}
    created = portal.run(
        directory.requests.file("create", payload, agency_code="sonv", channel="portal", filed_by="nvminh")
    )
    lock = {"address": "lvbinh@cantho.gov.vn", "reason": "security_warning", "ref": "CV 12/SKHCN"}
    locked = portal.run(
        directory.requests.file("lock", lock, agency_code="soyt", channel="portal", filed_by="nvminh")
    )
    operator_at(page, f"/quan-tri/yeu-cau/{created.id}")
    facts = page.locator("dl.facts").last  # after the request's kind and status
    expect(facts).to_contain_text("Họ")
    expect(facts).to_contain_text("Phạm")
    expect(facts).to_contain_text("Cấp bậc")
    for raw in ("family", "given", "rank", "line"):
        assert raw not in facts.inner_text()
    page.goto(f"/quan-tri/yeu-cau/{locked.id}")
    expect(facts).to_contain_text("Số văn bản")
    expect(facts).not_to_contain_text("security_warning")
    page.goto(f"/quan-tri/yeu-cau/{locked.id}?lang=en")
    expect(facts).to_contain_text("Document")
