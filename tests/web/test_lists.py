"""Lists of requests of every kind (R10.3) and the requests agencies file about their own structure
(R4.2, R8.2, R10.4), through the REST API as the city's HR system files them: each list previewed
with its bad rows named, for the same reasons a single request is refused; its good rows filed as
one batch the operator approves in one act; lists over the bound refused; the templates parse back."""

from __future__ import annotations

import csv
import io
import re

import httpx
import openpyxl
import pytest
from playwright.sync_api import expect

from hopthu.directory import actlist
from hopthu.directory.people import PersonRow
from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_admin import (
    enter_code,
    pass_second_factor,
    portal,  # noqa: F401  (the fixture)
)
from tests.web.test_api import client, token
from tests.web.test_portal_pages import operator_at

PEOPLE = [("Phan", "Văn", "An"), ("Võ", "Thị", "Bé"), ("Đỗ", "Văn", "Cường"), ("Hồ", "Thị", "Dung")]
PEOPLE += [("Lý", "Văn", "Em"), ("Mai", "Thị", "Giang")]


def listfile(fmt: str, headers: list[str], rows: list[list[str]]) -> tuple[str, bytes, str]:
    """A list as an agency would upload it, named for its format."""
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows([headers, *rows])
        return "danh-sach.csv", out.getvalue().encode(), "text/csv"
    book = openpyxl.Workbook()
    for line in [headers, *rows]:
        book.active.append(line)
    data = io.BytesIO()
    book.save(data)
    return "danh-sach.xlsx", data.getvalue(), "application/octet-stream"


def problems(answer: httpx.Response) -> dict[int, str]:
    assert answer.status_code in (200, 201), answer.text
    return {p["line"]: p["error"] for p in answer.json()["problems"]}


@pytest.fixture
def staffed(portal: RunningServer) -> RunningServer:  # noqa: F811
    """Sở Nội vụ with its Văn phòng and six more people (pvan, vtbe, dvcuong, htdung, lvem, mtgiang)."""

    async def setup() -> None:
        directory = portal.services.directory
        await directory.agencies.add("Văn phòng", parent="sonv", actor="test")
        rows = [PersonRow(*name, "sonv") for name in PEOPLE]
        await directory.people.register(rows, actor="test")

    portal.run(setup())
    return portal


# (kind, format, headers, rows, {line: words of its problem}); the lists follow one another, so a
# row may be refused for the state an earlier list left its mailbox in.
LISTS = [
    (
        "change",
        "csv",
        ["Địa chỉ thư", "Mã cơ quan mới", "Họ mới", "Tên đệm mới", "Tên mới", "Lý do", "Số văn bản"],
        [
            ["pvan", "vanphong.sonv", "", "", "", "transferred", "12/QĐ-SNV"],
            ["vtbe@cantho.gov.vn", "", "Võ", "Thị Ngọc", "Bé", "cá nhân được bổ nhiệm chức danh", "13/QĐ"],
            ["lvbinh", "sonv", "", "", "", "transferred", "14/QĐ"],
            ["khongco", "sonv", "", "", "", "transferred", "15/QĐ"],
            ["pvan", "sonv", "", "", "", "transferred", "16/QĐ"],
            ["dvcuong", "vanphong.sonv", "", "", "", "", ""],
        ],
        {4: "phạm vi", 5: "không có hộp thư", 6: "trùng với dòng 2", 7: "lý do"},
    ),
    (
        "change",
        "xlsx",
        ["address", "agency", "reason", "ref"],
        [["dvcuong", "vanphong.sonv", "transferred", "17/QĐ"], ["htdung", "", "transferred", "18/QĐ"]],
        {3: "cơ quan mới hoặc họ tên mới"},
    ),
    (
        "lock",
        "csv",
        ["address", "reason", "ref"],
        [["dvcuong", "security_warning", "12/CV-CA"], ["htdung", "", ""]],
        {3: "lý do"},
    ),
    (
        "lock",
        "xlsx",
        ["Địa chỉ thư", "Lý do", "Số văn bản"],
        [["htdung", "violation", ""], ["dvcuong", "violation", ""]],
        {3: "trạng thái"},
    ),
    (
        "restore",
        "csv",
        ["Địa chỉ thư", "Lý do", "Số văn bản"],
        [["dvcuong", "requested", "20/CV"], ["lvem", "requested", "21/CV"]],
        {3: "trạng thái"},
    ),
    (
        "restore",
        "xlsx",
        ["address", "reason", "ref"],
        [["htdung", "requested", "22/CV"], ["mtgiang", "requested", ""]],
        {3: "trạng thái"},
    ),
    ("reset_password", "csv", ["address"], [["lvem"], ["khongco"]], {3: "không có hộp thư"}),
    ("reset_password", "xlsx", ["Địa chỉ thư"], [["mtgiang"], ["lvbinh"]], {3: "phạm vi"}),
    (
        "delete",
        "csv",
        ["address", "reason", "ref"],
        [["lvem", "left", "30/QĐ"], ["mtgiang", "left", ""]],
        {3: "số văn bản"},
    ),
    (
        "delete",
        "xlsx",
        ["Địa chỉ thư", "Lý do", "Số văn bản"],
        [["mtgiang", "moved_outside_city", "31/QĐ"], ["lvem", "left", "32/QĐ"]],
        {3: "trạng thái"},
    ),
]


def test_a_list_of_every_kind_previewed_filed_and_approved(staffed: RunningServer, site: str) -> None:
    hr = client(site, token(staffed, "agency_manager", "sonv"))
    operator = client(site, token(staffed, "operator"))
    for kind, fmt, headers, rows, expected in LISTS:
        upload = {"file": listfile(fmt, headers, rows)}
        found = problems(hr.post(f"/lists/{kind}/preview", files=upload))
        assert found.keys() == expected.keys(), (kind, fmt, found)
        for line, words in expected.items():
            assert words in found[line].lower(), (kind, fmt, found[line])
        assert hr.get("/requests", params={"status": "pending"}).json() == []  # a preview files nothing

        filed = hr.post(f"/lists/{kind}", files=upload)
        assert filed.status_code == 201 and filed.json()["ready"] == len(rows) - len(expected)
        batch = filed.json()["batch"]
        assert hr.post(f"/batches/{batch}/approve").status_code == 403  # the operator decides
        approved = operator.post(f"/batches/{batch}/approve").json()
        assert approved == {"batch": batch, "approved": len(rows) - len(expected), "refused": []}, kind

    accounts = {
        a["address"].split("@")[0]: a for a in operator.get("/accounts", params={"limit": 100}).json()
    }
    assert accounts["pvan"]["agency"] == "vanphong.sonv" and accounts["dvcuong"]["agency"] == "vanphong.sonv"
    assert accounts["vtbe"]["display_name"] == "Võ Thị Ngọc Bé (Sở Nội vụ)"  # R4.4: the address stays
    assert accounts["dvcuong"]["status"] == "active" and accounts["htdung"]["status"] == "active"
    assert accounts["lvem"]["status"] == "deleted" and accounts["mtgiang"]["status"] == "deleted"
    history = staffed.run(staffed.services.directory.accounts.history("pvan"))
    assert history[0].action == "account.changed" and "12/QĐ-SNV" in (history[0].ref or "")


def test_lists_are_bounded_and_templates_parse_back(staffed: RunningServer, site: str) -> None:
    hr = client(site, token(staffed, "agency_manager", "sonv"))
    too_many = "address\n" + "pvan\n" * (actlist.MAX_ROWS + 1)
    refused = hr.post("/lists/reset_password/preview", files={"file": ("dai.csv", too_many.encode())})
    assert refused.status_code == 422 and str(actlist.MAX_ROWS) in refused.json()["vi"]
    too_big = b"address\n" + b"x" * actlist.MAX_BYTES
    refused = hr.post("/lists/reset_password", files={"file": ("lon.csv", too_big)})
    assert refused.status_code == 422 and "MB" in refused.json()["en"]
    assert hr.get("/requests").json() == []

    for kind in actlist.KINDS:
        for fmt in ("xlsx", "csv"):
            answer = hr.get(f"/lists/{kind}/template.{fmt}")
            assert answer.status_code == 200 and fmt in answer.headers["content-disposition"]
            (row,) = actlist.read_acts(kind, answer.content, f"mau.{fmt}")
            assert row.example and row.address == "nvminh"
    preview = hr.post("/lists/lock/preview", files={"file": ("mau.csv", actlist.template("lock", "csv"))})
    assert "dòng ví dụ" in problems(preview)[2]


def test_structure_requests(staffed: RunningServer, site: str) -> None:
    directory = staffed.services.directory
    hr = client(site, token(staffed, "agency_manager", "sonv"))
    operator = client(site, token(staffed, "operator"))

    subunit = hr.post(
        "/requests",
        json={"kind": "subunit", "agency": "sonv", "name": "Phòng Tổ chức cán bộ", "code": "tochuc"},
    )
    assert subunit.status_code == 201, subunit.text
    assert subunit.json()["details"]["proposed"] == "tochuc.sonv"
    delegation = hr.post("/requests", json={"kind": "delegation", "address": "sonv", "delegate": "pvan"})
    appoint = hr.post("/requests", json={"kind": "appoint", "address": "vtbe", "agency": "sonv"})
    for filed in (subunit, delegation, appoint):
        assert filed.status_code == 201, filed.text
        done = operator.post(f"/requests/{filed.json()['id']}/approve", json={})
        assert done.status_code == 200 and done.json()["status"] == "approved", done.text

    made = operator.get("/agencies/tochuc.sonv").json()
    assert made["address"] == "tochuc.sonv@cantho.gov.vn" and made["parent"] == "sonv"
    assert operator.get("/accounts/tochuc.sonv").json()["kind"] == "agency"
    assert ("pvan", "Phan Văn An (Sở Nội vụ)", False) in staffed.run(directory.delegations.delegates("sonv"))
    vtbe = staffed.run(directory.accounts.get("vtbe"))
    assert vtbe.agency_id in staffed.run(directory.roles.powers(vtbe.id)).agencies  # R10.4
    events = {e.action for e in staffed.run(directory.agencies.history("tochuc.sonv"))}
    assert "agency.created" in events

    for outside in (
        {"kind": "subunit", "agency": "soyt", "name": "Văn phòng"},
        {"kind": "delegation", "address": "soyt", "delegate": "pvan"},
        {"kind": "appoint", "address": "lvbinh", "agency": "soyt"},
    ):
        refused = hr.post("/requests", json=outside)
        assert (
            refused.status_code == 403
            and refused.json()["en"] == "This mailbox or agency is outside your agencies"
        )
    not_staff = hr.post("/requests", json={"kind": "appoint", "address": "lvbinh", "agency": "sonv"})
    assert not_staff.status_code == 422


@pytest.mark.both_backends  # a list's preview and batch are the portal path on either backend
def test_a_list_previewed_and_approved_in_the_portal(
    staffed: RunningServer, browser, site: str, tmp_path
) -> None:
    """The manager uploads a lock list and sees its bad row named before filing; the operator
    approves the whole batch with one button."""
    name, data, _ = listfile(
        "csv",
        ["Địa chỉ thư", "Lý do", "Số văn bản"],
        [["pvan", "security_warning", "9/CV-CA"], ["lvbinh", "violation", ""], ["vtbe", "violation", ""]],
    )
    upload = tmp_path / name
    upload.write_bytes(data)
    manager = browser.new_context(base_url=site, locale="vi-VN").new_page()
    sign_in(manager, "nvminh")
    manager.wait_for_url("**/thu/*")
    manager.goto("/quan-tri/yeu-cau/moi")
    enter_code(manager, pass_second_factor(manager, enrol=True))
    manager.wait_for_url("**/quan-tri/yeu-cau/moi")
    manager.get_by_label("Loại yêu cầu").first.select_option("lock")
    manager.get_by_label("Tệp yêu cầu").set_input_files(upload)
    manager.get_by_role("button", name="Xem trước danh sách").click()
    expect(manager.get_by_role("status")).to_contain_text("3 dòng: 2 gửi được, 1 có lỗi")
    expect(manager.locator("table.problems tbody tr")).to_have_count(1)
    expect(manager.locator("table.problems")).to_contain_text("không thuộc phạm vi của bạn")
    manager.get_by_role("button", name="Gửi 2 yêu cầu").click()
    manager.wait_for_url(re.compile(r".*/quan-tri/yeu-cau\?lo=\w+.*"))
    batch = re.search(r"lo=(\w+)", manager.url)[1]

    desk = browser.new_context(base_url=site, locale="vi-VN").new_page()
    operator_at(desk, f"/quan-tri/yeu-cau?lo={batch}")
    expect(desk.locator("table.requests tbody tr")).to_have_count(2)
    desk.get_by_role("button", name=re.compile("Duyệt cả lô")).click()
    expect(desk.get_by_role("status")).to_contain_text("Đã duyệt 2 yêu cầu.")
    accounts = staffed.services.directory.accounts
    assert {staffed.run(accounts.get(local)).status for local in ("pvan", "vtbe")} == {"locked"}
