"""The administration portal in a real browser: the second factor enrolled on the first visit (R9),
the operator's acts on an account with reason and document (R6, R5.2), and the scope of an agency's
mailbox manager (R10.4): their agencies' accounts only, 403 anywhere else."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile

import openpyxl
import pyotp
import pytest
from playwright.sync_api import expect

from hopthu.directory.people import PersonRow
from tests.imap.conftest import RunningServer, message
from tests.smtp.conftest import PASSWORD
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems


@pytest.fixture
def portal(imapserver: RunningServer) -> RunningServer:
    """Sở Nội vụ (nvminh, ttnanh) and Sở Y tế (lvbinh); ttnanh an operator, nvminh Sở Nội vụ's manager."""

    async def setup() -> None:
        directory = imapserver.services.directory
        await directory.agencies.add("Sở Y tế", actor="test")
        (row,) = await directory.people.register([PersonRow("Lê", "Văn", "Bình", "soyt")], actor="test")
        await directory.accounts.change_password(row.address, row.temporary_password, PASSWORD)
        await directory.roles.grant("ttnanh", "operator", actor="test")
        await directory.roles.grant("nvminh", "agency_manager", agency_code="sonv", actor="test")

    imapserver.run(setup())
    return imapserver


def pass_second_factor(page, *, enrol: bool) -> str:
    """Through the factor page as a person with an authenticator app would; the secret key."""
    if enrol:
        expect(page.get_by_role("heading", name="Xác thực hai lớp")).to_be_visible()
        secret = page.locator("#secret").inner_text().replace(" ", "")
        assert page.locator("figure.qr svg").count() == 1
    else:
        secret = ""
    return secret


def enter_code(page, secret: str, password: str = PASSWORD) -> None:
    page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secret).now())
    if page.locator("#password").count():  # enrolment: the administrator's own password beside the code
        page.locator("#password").fill(password)
    page.get_by_role("button", name="Xác nhận").click()


def test_operator_enrols_then_acts_on_an_account(portal: RunningServer, page) -> None:
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    page.wait_for_url(re.compile(r".*/quan-tri/xac-thuc/dang-ky\?next=.*"))
    secret = pass_second_factor(page, enrol=True)
    page.get_by_label("Mã xác thực").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_label("Mật khẩu của bạn").fill(PASSWORD)
    page.get_by_role("button", name="Xác nhận").click()
    expect(page.get_by_role("alert")).to_contain_text("Mã không đúng")
    enter_code(page, secret)
    page.wait_for_url(re.compile(r".*/quan-tri$"))
    expect(page.get_by_role("heading", name="Tổng quan")).to_be_visible()
    expect(page.locator(".figures")).to_contain_text("hộp thư")
    by_agency = page.get_by_role("img", name=re.compile("theo cơ quan"))
    expect(by_agency).to_contain_text("Sở Nội vụ")  # two people, then Sở Y tế with one
    assert by_agency.locator("text.value").all_text_contents() == ["2", "1"]

    page.get_by_role("link", name="Hộp thư", exact=True).click()
    page.get_by_label("Tên hoặc địa chỉ").fill("le van binh")  # without diacritics
    page.get_by_role("button", name="Lọc").click()
    rows = page.locator("table.accounts tbody tr")
    expect(rows).to_have_count(1)
    page.get_by_label("Không dùng từ").select_option("30")  # nobody has been idle that long
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator("table.accounts")).to_have_count(0)
    page.get_by_label("Không dùng từ").select_option("")
    page.get_by_role("button", name="Lọc").click()
    rows.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Lê Văn Bình")).to_be_visible()

    page.get_by_text("Tạm khóa", exact=True).first.click()  # opens the act
    page.locator("#reason-khoa").select_option("security_warning")
    page.get_by_role("button", name="Tạm khóa").click()
    expect(page.get_by_role("alert")).to_contain_text("Cần ghi số văn bản")  # R6.4a needs the document
    page.get_by_text("Tạm khóa", exact=True).first.click()
    page.locator("#reason-khoa").select_option("security_warning")
    page.locator("#ref-khoa").fill("123/CATP-PA05")
    page.get_by_role("button", name="Tạm khóa").click()
    expect(page.get_by_role("status")).to_contain_text("Đã tạm khóa")
    expect(page.locator(".facts")).to_contain_text("Tạm khóa")
    expect(page.locator("table.history")).to_contain_text("Tạm khóa")  # account.locked, by its name
    expect(page.locator("table.history")).to_contain_text("123/CATP-PA05")
    locked = portal.run(portal.services.directory.accounts.get("lvbinh"))
    assert locked.status == "locked" and locked.status_ref == "123/CATP-PA05"

    page.get_by_text("Khôi phục", exact=True).first.click()
    page.locator("#ref-khoi-phuc").fill("Phiếu 45/SYT")
    page.get_by_role("button", name="Khôi phục").click()
    expect(page.get_by_role("status")).to_contain_text("Đã khôi phục")

    page.get_by_text("Cấp lại mật khẩu tạm").click()
    page.get_by_label("Lý do (vd: số phiếu hỗ trợ)").fill("Phiếu hỗ trợ 812")
    page.get_by_role("button", name="Cấp mật khẩu tạm").click()
    temporary = page.locator("#temporary-password").inner_text()
    assert len(temporary) >= 12
    accounts = portal.services.directory.accounts
    with pytest.raises(Exception, match=r"must|phải"):  # R5.2: the temporary password must be changed
        portal.run(portal.services.authenticator.sign_in("lvbinh", temporary, source="t", protocol="web"))
    portal.run(accounts.change_password("lvbinh", temporary, "Moi#Matkhau2026"))
    page.get_by_role("link", name="Nhật ký", exact=True).click()
    page.get_by_label("Đối tượng (địa chỉ, mã)").fill("lvbinh")
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator("table.history")).to_contain_text("Cấp lại mật khẩu tạm")
    assert problems(page) == []
    with page.expect_download() as exported:
        page.get_by_role("link", name="Xuất tệp CSV").click()
    exported_rows = list(csv.DictReader(io.StringIO(exported.value.path().read_text(encoding="utf-8-sig"))))
    assert {"account.created", "account.locked", "account.restored", "account.password_reset"} <= {
        row["thao_tac"] for row in exported_rows
    }
    assert {row["doi_tuong"] for row in exported_rows} == {"lvbinh"}
    lines = [",".join(row.values()) for row in exported_rows]
    assert "123/CATP-PA05" in "\n".join(lines)
    events = portal.run(accounts.history("lvbinh"))
    assert {"account.locked", "account.restored", "account.password_reset"} <= {e.action for e in events}
    assert all(
        e.actor == "ttnanh"
        for e in events
        if e.action != "account.created" and e.action != "account.password_changed"
    )


def test_agency_manager_sees_only_their_agency(portal: RunningServer, page, site: str) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/hop-thu")
    secret = pass_second_factor(page, enrol=True)
    enter_code(page, secret)
    page.wait_for_url("**/quan-tri/hop-thu")
    shown = page.locator("table.accounts tbody td:first-child").all_inner_texts()
    assert sorted(shown) == ["nvminh@cantho.gov.vn", "sonv@cantho.gov.vn", "ttnanh@cantho.gov.vn"]
    answer = page.goto("/quan-tri/hop-thu/lvbinh")  # Sở Y tế: not theirs
    assert answer.status == 403
    expect(page.get_by_role("heading", name="Không được phép")).to_be_visible()
    page.goto("/quan-tri/hop-thu/ttnanh")
    assert page.get_by_role("heading", name="Thao tác").count() == 0  # they file requests instead
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(
        f"{site}/quan-tri/hop-thu/ttnanh/khoa", form={"csrf": csrf, "reason": "violation", "ref": "x"}
    )
    assert answer.status == 403
    assert portal.run(portal.services.directory.accounts.get("ttnanh")).status == "active"
    page.goto("/quan-tri/co-quan")
    expect(page.locator("table.agencies")).to_contain_text("Sở Nội vụ")
    expect(page.locator("table.agencies")).not_to_contain_text("Sở Y tế")
    assert page.goto("/quan-tri/co-quan/soyt").status == 403
    assert page.goto("/quan-tri/nhat-ky").status == 403  # the audit log is the operator's
    assert page.get_by_role("link", name="Nhật ký", exact=True).count() == 0


def test_people_without_a_role_are_refused(portal: RunningServer, page) -> None:
    sign_in(page, "lvbinh")
    page.wait_for_url("**/thu/*")
    for path in ("/quan-tri", "/quan-tri/hop-thu", "/quan-tri/xac-thuc/dang-ky"):
        assert page.goto(path).status == 403


def test_a_code_counts_once(portal: RunningServer) -> None:
    """RFC 6238 codes are refused when replayed, and one step of clock drift either way is allowed."""
    factors = portal.services.directory.factors
    account_id = portal.account_id("ttnanh")
    secret, uri = portal.run(factors.enrolment(account_id))
    assert uri.startswith("otpauth://totp/") and secret in uri
    assert not portal.run(factors.confirmed(account_id))
    totp = pyotp.TOTP(secret)
    now = dt.datetime.now(dt.UTC)
    earlier = totp.at(now - dt.timedelta(seconds=30))
    # the first code confirms the device only beside the administrator's own password
    assert not portal.run(factors.verify(account_id, earlier, actor="ttnanh"))
    assert not portal.run(factors.verify(account_id, earlier, actor="ttnanh", password="Sai-Mat-khau-1"))
    assert not portal.run(factors.confirmed(account_id))
    assert portal.run(factors.verify(account_id, earlier, actor="ttnanh", password=PASSWORD))
    assert portal.run(factors.confirmed(account_id))
    assert not portal.run(factors.verify(account_id, earlier, actor="ttnanh"))  # the same code again
    assert not portal.run(factors.verify(account_id, "12345", actor="ttnanh"))
    assert not portal.run(factors.verify(account_id, totp.at(now - dt.timedelta(minutes=5)), actor="ttnanh"))
    assert portal.run(factors.verify(account_id, totp.at(now), actor="ttnanh"))


def test_portal_pages_pass_the_accessibility_check(portal: RunningServer, page) -> None:
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    assert problems(page) == [], "factor page"
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(re.compile(r".*/quan-tri$"))
    for path in ("/quan-tri", "/quan-tri/hop-thu", "/quan-tri/hop-thu/lvbinh", "/quan-tri/co-quan"):
        page.goto(path)
        assert problems(page) == [], path
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/quan-tri", "/quan-tri/hop-thu/lvbinh"):
        page.goto(path)
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, path


def test_operator_merges_two_agencies(portal: RunningServer, page) -> None:
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/co-quan")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/co-quan")
    page.get_by_role("link", name="Sở Y tế").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sở Y tế")  # the agency's page, loaded
    assert problems(page) == []
    page.get_by_text("Sáp nhập vào cơ quan khác").click()
    page.get_by_label("Sáp nhập vào").select_option("sonv")
    page.locator("#ref-merge").fill("NQ 20/NQ-HĐND")
    page.get_by_role("button", name="Sáp nhập", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Đã sáp nhập Sở Y tế vào Sở Nội vụ")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sở Nội vụ")
    binh = portal.run(portal.services.directory.accounts.get("lvbinh"))
    assert binh.agency_code == "sonv" and binh.display_name == "Lê Văn Bình (Sở Nội vụ)"
    assert portal.run(portal.services.directory.accounts.aliases("sonv")) == ["soyt"]
    page.goto("/quan-tri/co-quan")
    expect(page.locator("ul.former")).to_contain_text("Sở Y tế (đã sáp nhập)")
    page.goto("/quan-tri/hop-thu/lvbinh")
    expect(page.locator(".facts")).to_contain_text("Sở Nội vụ")


def test_a_report_downloaded_and_opened(portal: RunningServer, page) -> None:
    """R9.7: the operator's report for this year, as .xlsx, read back with the directory's totals."""
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/bao-cao")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/bao-cao")
    year = str(dt.datetime.now(dt.UTC).year)
    page.get_by_label(re.compile("Kỳ")).fill(year)
    page.get_by_role("button", name="Xem").click()
    expect(page.get_by_role("heading", name=f"Báo cáo năm {year}")).to_be_visible()
    assert problems(page) == []
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải tệp Excel (.xlsx)").click()
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    sheet = book["Theo cơ quan"]
    header = [cell.value for cell in sheet[1]]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    total = rows[None]  # the total line has no code
    assert total[1] == "Toàn thành phố"
    everyone = portal.run(portal.services.directory.accounts.list())
    assert total[header.index("Đang hoạt động")] == sum(a.status == "active" for a in everyone)
    assert total[header.index("Cấp mới trong kỳ")] == len(everyone)
    assert rows["soyt"][header.index("Đang hoạt động")] == 2  # Sở Y tế's mailbox and lvbinh
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải tệp PDF").click()
    assert download.value.path().read_bytes().startswith(b"%PDF-")


def test_delegations_address_change_and_export(portal: RunningServer, page) -> None:
    """R8.2 delegations of an agency mailbox, R6.2 a new address with the old one kept as an alias,
    and the export of a whole mailbox before a deletion (recorded, R13.4)."""
    portal.deliver("lvbinh", message("Kế hoạch năm 2027", "Kính gửi."))
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/hop-thu/sonv")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/hop-thu/sonv")
    expect(page.locator("ul.delegates")).to_contain_text("nvminh@cantho.gov.vn")
    page.get_by_text("Ủy quyền cho một người").click()
    page.get_by_label("Địa chỉ thư của người được ủy quyền").fill("ttnanh")
    page.get_by_label("Văn bản ủy quyền của thủ trưởng").fill("GUQ 3/SNV")
    page.get_by_role("button", name="Ủy quyền", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Đã ủy quyền")
    page.get_by_role("button", name="Bỏ ủy quyền cho nvminh").click()
    expect(page.get_by_role("status")).to_contain_text("Đã bỏ ủy quyền")
    delegates = portal.run(portal.services.directory.delegations.delegates("sonv"))
    assert [(local, can_send) for local, _, can_send in delegates] == [("ttnanh", True)]
    assert problems(page) == []

    page.goto("/quan-tri/hop-thu/lvbinh")
    with page.expect_download() as exported:
        page.get_by_role("button", name="Xuất toàn bộ thư (.zip)").click()
    names = zipfile.ZipFile(io.BytesIO(exported.value.path().read_bytes())).namelist()
    assert names == ["Hộp thư đến/00001 Kế hoạch năm 2027.eml"]
    page.get_by_text("Đổi địa chỉ thư").click()
    page.get_by_label("Địa chỉ mới (phần trước @)").fill("binh.le")
    page.locator("#reason-address").select_option("transferred")
    page.locator("#ref-address").fill("QĐ 77/QĐ-SYT")
    page.get_by_role("button", name="Đổi địa chỉ", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Địa chỉ mới: binh.le")
    expect(page.locator(".facts")).to_contain_text("lvbinh@cantho.gov.vn")  # kept as an alias
    history = page.locator("table.history").inner_text()
    for act in ("Đổi địa chỉ thư", "Xuất toàn bộ thư", "Cấp mới hộp thư"):
        assert act in history
    reached = portal.run(portal.services.router.local("lvbinh@cantho.gov.vn"))
    assert reached.local == "binh.le"


def test_overview_counts_mail_per_day(portal: RunningServer, page) -> None:
    """Mail through the pipeline is counted for the dashboard (flushed each minute; here at once)."""
    from hopthu.smtp.pipeline import Incoming

    pipeline = portal.services.pipeline
    for n in range(3):
        data = message(f"Thư số {n}", sender="ban@example.org", to="nvminh@cantho.gov.vn")
        outcome = portal.run(
            pipeline.accept(
                Incoming(data, "ban@example.org", ["nvminh@cantho.gov.vn"], "mx", client_ip="192.0.2.1")
            )
        )
        assert outcome.accepted
    portal.run(pipeline.traffic.flush())
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(re.compile(r".*/quan-tri$"))
    expect(page.locator(".legend")).to_contain_text("nhận (3)")
    expect(page.locator(".legend")).to_contain_text("gửi (0)")


def test_the_jobs_page_runs_a_job_now(portal: RunningServer, page) -> None:
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/tac-vu")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/tac-vu")
    expect(page.get_by_role("heading", name=re.compile("Cảnh báo dung lượng"))).to_be_visible()
    page.get_by_role("button", name="Chạy ngay: quota").click()
    expect(page.get_by_role("status")).to_contain_text("quota: ok")
    expect(page.locator("#job-quota ~ table")).to_contain_text("warned: 0")
    assert problems(page) == []
