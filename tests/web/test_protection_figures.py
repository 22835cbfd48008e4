"""R9.3: what protection refused is counted per day and agency, on the dashboard and in reports."""

from __future__ import annotations

import datetime as dt
import io
import re
import smtplib

import openpyxl
import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.imap.conftest import RunningServer
from tests.protection.files import mail, zip_of
from tests.web.conftest import sign_in
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401


def test_a_dangerous_file_refused_is_on_the_dashboard_and_in_the_report(portal: RunningServer, page) -> None:  # noqa: F811
    data = mail(("hoso.zip", zip_of(("hoso.pdf.exe", b"MZ"))), to="nvminh@cantho.gov.vn")
    with (
        smtplib.SMTP("127.0.0.1", portal.port("smtp"), timeout=30) as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.sendmail("ban@example.org", ["nvminh@cantho.gov.vn"], data)
    assert refused.value.smtp_code == 550
    portal.run(portal.services.pipeline.traffic.flush())

    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.wait_for_url(re.compile(r".*/quan-tri$"))
    expect(page.get_by_role("heading", name="Bảo vệ thư trong 30 ngày qua")).to_be_visible()
    expect(page.locator("#protection-dangerous_refused")).to_have_text(
        re.compile(r"Thư có tệp nguy hiểm bị từ chối\s*1")
    )
    expect(page.locator("#protection-malware_refused")).to_have_text(re.compile(r"mã độc bị từ chối\s*0"))

    page.goto("/quan-tri/bao-cao")
    year = str(dt.datetime.now(dt.UTC).year)
    page.get_by_label(re.compile("Kỳ")).fill(year)
    page.get_by_role("button", name="Xem").click()
    expect(page.get_by_role("heading", name=f"Báo cáo năm {year}")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải tệp Excel (.xlsx)").click()
    sheet = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))["Theo cơ quan"]
    header = [cell.value for cell in sheet[1]]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    column = header.index("Thư có tệp nguy hiểm bị từ chối")
    assert rows["sonv"][column] == 1 and rows[None][column] == 1
    assert rows["sonv"][header.index("Thư gửi đi bị giữ lại")] == 0
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải tệp PDF").click()
    words = " ".join(p.extract_text() for p in PdfReader(download.value.path()).pages)
    assert "Thư có tệp nguy hiểm bị từ chối" in " ".join(words.split())
