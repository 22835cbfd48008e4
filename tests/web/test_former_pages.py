"""R13.7 old addresses in the portal and the API, over HTTP: the operator downloads the template,
uploads a list, sees the preview (new addresses by R4, bad rows by line), imports it (temporary
passwords shown once), searches and removes; an agency manager is refused; the API lists and adds."""

from __future__ import annotations

import io
import re
from contextlib import closing

import httpx
import openpyxl

from tests.imap.conftest import RunningServer
from tests.web.test_admin import portal  # noqa: F401  (the fixture)
from tests.web.test_api import client, token
from tests.web.test_roles import administrator, csrf

PAGE = "/quan-tri/dia-chi-cu"


def _upload(browser: httpx.Client, data: bytes, name: str) -> httpx.Response:
    form = browser.get(PAGE)
    return browser.post(
        f"{PAGE}/xem-truoc",
        data={"csrf": csrf(form)},
        files={"file": (name, data, "application/octet-stream")},
    )


def test_r13_7_operator_uploads_previews_imports_and_searches(portal: RunningServer, site: str) -> None:  # noqa: F811
    with closing(administrator(site, "ttnanh")) as operator:
        page = operator.get(PAGE)
        assert (
            page.status_code == 200 and "soctrang.gov.vn" in page.text and "Chưa có địa chỉ cũ" in page.text
        )
        assert f'href="{PAGE}"' in page.text  # in the portal's menu
        template = operator.get(f"{PAGE}/mau.xlsx")
        assert template.status_code == 200 and template.headers["content-type"].startswith("application/vnd")
        book = openpyxl.load_workbook(io.BytesIO(template.content))
        sheet = book.active
        assert [c.value for c in sheet[1]][:6] == [
            "Địa chỉ cũ",
            "Họ",
            "Tên đệm",
            "Tên",
            "Mã cơ quan",
            "Cấp bậc",
        ]
        sheet.delete_rows(2)  # the example row
        sheet.append(["nvminh@soctrang.gov.vn", "Nguyễn", "Văn", "Minh", "sonv", 0])
        sheet.append(["lvbinh@haugiang.gov.vn", None, None, None, None, None, "lvbinh"])
        sheet.append(["x@gmail.com", "Võ", None, "An", "sonv", None])
        sheet.append(["NVMinh@SocTrang.gov.vn", "Nguyễn", "Văn", "Minh", "sonv", 0])
        out = io.BytesIO()
        book.save(out)

        preview = _upload(operator, out.getvalue(), "ds.xlsx")
        assert preview.status_code == 200, preview.text[:500]
        assert "4 dòng: 2 nhập được (1 hộp thư cấp mới), 2 có lỗi" in preview.text
        assert "nvminh1@cantho.gov.vn" in preview.text  # nvminh is taken: the next number (R4)
        assert "Dòng 4:" in preview.text and "former province" in preview.text
        assert "Dòng 5:" in preview.text and "repeats line 2" in preview.text
        assert portal.run(portal.services.directory.former.list()) == []  # nothing yet
        packed = re.search(r'name="rows" value="([^"]+)"', preview.text)
        assert packed
        done = operator.post(f"{PAGE}/nhap", data={"csrf": csrf(preview), "rows": packed.group(1)})
        assert done.status_code == 200 and "2 địa chỉ cũ đã ghi, 1 hộp thư cấp mới" in done.text
        password = re.search(r"<code>(\S+)</code></td></tr>", done.text)
        assert password and len(password.group(1)) >= 8  # shown this once
        mapped = {f.address: f.local for f in portal.run(portal.services.directory.former.list())}
        assert mapped == {"nvminh@soctrang.gov.vn": "nvminh1", "lvbinh@haugiang.gov.vn": "lvbinh"}

        found = operator.get(PAGE, params={"q": "haugiang"})
        assert "lvbinh@haugiang.gov.vn" in found.text and "nvminh@soctrang.gov.vn" not in found.text
        by_agency = operator.get(PAGE, params={"agency": "soyt"})
        assert "lvbinh@haugiang.gov.vn" in by_agency.text and "nvminh@soctrang.gov.vn" not in by_agency.text
        removed = operator.post(f"{PAGE}/bo", data={"csrf": csrf(found), "address": "lvbinh@haugiang.gov.vn"})
        assert removed.status_code == 303
        after = operator.get(PAGE).text
        assert "Đã bỏ địa chỉ cũ lvbinh@haugiang.gov.vn." in after  # said once, after the redirect
        assert "<code>lvbinh@haugiang.gov.vn</code>" not in after
        assert "<code>nvminh@soctrang.gov.vn</code>" in after
        bad = _upload(operator, b"Ho,Ten\r\nA,B\r\n", "ds.csv")
        assert bad.status_code == 400 and "Thiếu cột: Địa chỉ cũ" in bad.text
        forged = operator.post(f"{PAGE}/nhap", data={"csrf": csrf(found), "rows": "không phải"})
        assert forged.status_code == 422
    with closing(administrator(site, "nvminh")) as manager:  # an agency's manager, not the operator
        assert manager.get(PAGE).status_code == 403


def test_r13_7_api_lists_and_adds(portal: RunningServer, site: str) -> None:  # noqa: F811
    operator = client(site, token(portal, "operator"))
    made = operator.post(
        "/former-addresses", json={"former_address": "ttnanh@haugiang.gov.vn", "address": "ttnanh"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["address"] == "ttnanh@cantho.gov.vn" and made.json()["source"] == "manual"
    again = operator.post(
        "/former-addresses", json={"former_address": "TTNAnh@haugiang.gov.vn", "address": "nvminh"}
    )
    assert again.status_code == 409 and again.json()["vi"] and again.json()["en"]
    elsewhere = operator.post(
        "/former-addresses", json={"former_address": "a@gmail.com", "address": "nvminh"}
    )
    assert elsewhere.status_code == 422 and "former province" in elsewhere.json()["en"]
    listed = operator.get("/former-addresses", params={"agency": "sonv"}).json()
    assert [f["former_address"] for f in listed] == ["ttnanh@haugiang.gov.vn"]
    manager = client(site, token(portal, "agency_manager", "sonv"))
    assert manager.get("/former-addresses").status_code == 403
