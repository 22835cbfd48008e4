"""The mail log in the portal, in a real browser (R13.1): an operator traces a message that came in
over real SMTP by each field, opens its entry (Received chain, To and Cc, what became of it),
exports the result as CSV and Excel; every reading is in the audit log; agency managers are refused."""

from __future__ import annotations

import csv
import io
import re
import smtplib

import openpyxl
from playwright.sync_api import expect

from hopthu.web.admin.auditnames import action_name
from tests.imap.conftest import RunningServer
from tests.smtp.conftest import message
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401

SUBJECT = "Giấy mời họp giao ban tuần 12"
HOP = (
    "Received: from pc-vanthu (unknown [192.0.2.7]) by relay.example.org; Mon, 02 Mar 2026 08:29:58 +0700\r\n"
)


def _send(server: RunningServer) -> str:
    data = HOP.encode() + message(subject=SUBJECT, extra="Cc: =formula@example.org\r\n")
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as client:
        client.ehlo("mx.example.org")
        client.sendmail("ban@example.org", ["nvminh@cantho.gov.vn"], data)
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=30) as client:
        client.ehlo("mx.example.org")
        client.sendmail(
            "khac@example.org",
            ["ttnanh@cantho.gov.vn"],
            message(sender="khac@example.org", subject="Thư khác hẳn"),
        )
    (found,) = re.findall(rb"Message-ID: (<[^>]+>)", data)
    return found.decode()


def test_an_operator_traces_a_message_and_exports_it(portal: RunningServer, page) -> None:  # noqa: F811
    message_id = _send(portal)
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri/nhat-ky-thu")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url("**/quan-tri/nhat-ky-thu")
    expect(page.get_by_role("heading", name="Nhật ký thư")).to_be_visible()
    assert problems(page) == []

    page.get_by_label("Tiêu đề có chứa").fill("giao ban")
    page.get_by_role("button", name="Tra cứu").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text(SUBJECT)
    for field, value in (
        ("nguoi_gui", "ban@example.org"),
        ("nguoi_nhan", "nvminh@cantho.gov.vn"),
        ("tac_gia", "ban@example.org"),
        ("message_id", message_id),
    ):
        page.goto(f"/quan-tri/nhat-ky-thu?{field}={value.replace('<', '%3C').replace('>', '%3E')}")
        expect(page.locator("table.history tbody tr").filter(has_text=SUBJECT)).to_have_count(1)
        expect(page.locator("table.history tbody")).not_to_contain_text("Thư khác hẳn")
    page.goto("/quan-tri/nhat-ky-thu?ip=127.0.0.1&ket_luan=clean&ket_qua=delivered")
    expect(page.locator("table.history tbody tr")).to_have_count(2)
    page.goto("/quan-tri/nhat-ky-thu?tu=2001-01-01&den=2001-01-02")
    expect(page.locator(".empty")).to_contain_text("Không có thư nào khớp")

    page.goto("/quan-tri/nhat-ky-thu?tieu_de=giao+ban")
    page.locator("table.history tbody a").first.click()
    expect(page.get_by_role("heading", name=re.compile("Giấy mời họp"))).to_be_visible()
    expect(page.locator("ol.received")).to_contain_text("from pc-vanthu (unknown [192.0.2.7])")
    expect(page.locator("dl.facts")).to_contain_text("=formula@example.org")
    expect(page.locator("body")).to_contain_text("nvminh@cantho.gov.vn: inbox")
    assert problems(page) == []

    page.goto("/quan-tri/nhat-ky-thu?tieu_de=giao+ban")
    with page.expect_download() as done:
        page.get_by_role("button", name="Xuất tệp CSV").click()
    with open(done.value.path(), encoding="utf-8-sig") as file:
        text = file.read()
    header, *lines = list(csv.reader(io.StringIO(text)))
    assert header[:3] == ["so", "luc", "chieu"] and len(lines) == 1
    row = dict(zip(header, lines[0], strict=True))
    assert (
        row["tieu_de"] == SUBJECT
        and row["message_id"] == message_id
        and row["nguoi_gui"] == "ban@example.org"
    )
    assert row["cc"] == "'=formula@example.org"  # a stranger's text never becomes a formula
    assert "pc-vanthu" in row["received"] and row["ket_qua"] == "delivered"

    with page.expect_download() as done:
        page.get_by_role("button", name="Xuất tệp Excel").click()
    with open(done.value.path(), "rb") as file:
        sheet = openpyxl.load_workbook(io.BytesIO(file.read())).active
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert values[1][8] == SUBJECT and values[1][15] == "=formula@example.org"
    assert sheet.cell(row=2, column=16).data_type == "s"

    page.goto("/quan-tri/nhat-ky?thao_tac=maillog.")
    history = page.locator("table.history").inner_text()
    for act in ("maillog.searched", "maillog.viewed", "maillog.exported"):  # each by its name
        assert action_name(act)[0] in history


def test_agency_managers_do_not_read_the_mail_log(portal: RunningServer, page) -> None:  # noqa: F811
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(re.compile(r".*/quan-tri$"))
    assert page.locator("nav a[href='/quan-tri/nhat-ky-thu']").count() == 0
    assert page.goto("/quan-tri/nhat-ky-thu?nguoi_gui=ban@example.org").status == 403
    assert page.request.post("/quan-tri/nhat-ky-thu/xuat", form={"nguoi_gui": "x"}).status == 403
