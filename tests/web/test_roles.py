"""Administrative roles (R9, R10.4, R13.4) over HTTP: the operator gives and withdraws them (the API's
/roles, the portal's roles page), the system keeps an operator; anything outside a caller's agencies
is the one refusal (403 with the same words on the API, the same page in the portal); an auditor
reads the audit log and every act of theirs is refused."""

from __future__ import annotations

import re
from contextlib import closing

import httpx
import pyotp
import pytest
from playwright.sync_api import expect

from tests.imap.conftest import RunningServer
from tests.smtp.conftest import PASSWORD
from tests.web.conftest import sign_in
from tests.web.test_accessibility import problems
from tests.web.test_admin import enter_code, pass_second_factor, portal  # noqa: F401  (the fixture)
from tests.web.test_api import client, token

OUTSIDE = (
    "Hộp thư hoặc cơ quan này không thuộc phạm vi của bạn",
    "This mailbox or agency is outside your agencies",
)
REFUSAL_PAGE = "<h1>Không được phép</h1>"


def test_roles_over_the_api_and_one_answer_for_not_yours(portal: RunningServer, site: str) -> None:  # noqa: F811
    operator = client(site, token(portal, "operator"))
    assert operator.get("/roles").json() == [
        {
            "address": "nvminh@cantho.gov.vn",
            "name": "Nguyễn Văn Minh (Sở Nội vụ)",
            "role": "agency_manager",
            "agency": "sonv",
        },
        {
            "address": "ttnanh@cantho.gov.vn",
            "name": "Trần Thị Ngọc Ánh (Sở Nội vụ)",
            "role": "operator",
            "agency": None,
        },
    ]
    made = operator.post("/roles", json={"address": "lvbinh", "role": "agency_manager", "agency": "soyt"})
    assert made.status_code == 201 and made.json()["address"] == "lvbinh@cantho.gov.vn", made.text
    again = operator.post("/roles", json={"address": "lvbinh", "role": "agency_manager", "agency": "soyt"})
    assert again.status_code == 409 and again.json()["vi"] and again.json()["en"]
    unknown = operator.post("/roles", json={"address": "khongco", "role": "helpdesk"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert (
        operator.delete("/roles/lvbinh@cantho.gov.vn/agency_manager", params={"agency": "soyt"}).status_code
        == 204
    )
    last = operator.delete("/roles/ttnanh/operator")
    assert last.status_code == 409 and "operator" in last.json()["en"]
    assert [g["role"] for g in operator.get("/roles").json()] == ["agency_manager", "operator"]

    manager = client(site, token(portal, "agency_manager", "sonv"))
    assert manager.get("/roles").status_code == 403  # the operator's alone
    for refused in (
        manager.post(
            "/requests", json={"kind": "create", "person": {"family": "Võ", "given": "An", "agency": "soyt"}}
        ),
        manager.post("/requests", json={"kind": "lock", "address": "lvbinh", "reason": "violation"}),
        manager.get("/accounts/lvbinh@cantho.gov.vn"),
        manager.get("/agencies/soyt"),
        manager.get("/accounts", params={"agency": "soyt"}),  # refused, not answered empty
    ):
        assert refused.status_code == 403, refused.text
        assert (refused.json()["vi"], refused.json()["en"]) == OUTSIDE

    auditor = client(site, token(portal, "auditor"))
    assert auditor.get("/accounts").status_code == 200
    for refused in (
        auditor.post("/requests", json={"kind": "lock", "address": "lvbinh", "reason": "violation"}),
        auditor.post("/roles", json={"address": "lvbinh", "role": "auditor"}),
        auditor.delete("/roles/ttnanh/operator"),
        auditor.post("/accounts/lvbinh/password-reset", json={"reason": "x"}),
    ):
        assert refused.status_code == 403 and "auditor" in refused.json()["en"], refused.text
    events = portal.run(portal.services.directory.accounts.history("lvbinh"))
    assert {"role.granted", "role.revoked"} <= {e.action for e in events}


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


def administrator(site: str, login: str) -> httpx.Client:
    """A browser-like client signed in as `login` with their second factor enrolled."""
    browser = httpx.Client(base_url=site, headers={"Origin": site}, timeout=60)

    def with_cookies(request: httpx.Request) -> None:
        """Like Chromium, send the site's Secure (`__Host-`) cookies to http://127.0.0.1, a trustworthy
        origin (httpx keeps them for https only)."""
        request.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar)

    browser.event_hooks["request"] = [with_cookies]
    signed = browser.post(
        "/dang-nhap", data={"login": login, "password": PASSWORD, "csrf": csrf(browser.get("/dang-nhap"))}
    )
    assert signed.status_code == 303, signed.status_code
    page = browser.get("/quan-tri/xac-thuc/dang-ky")
    secret = re.search(r'id="secret">([^<]+)<', page.text)
    assert secret
    code = pyotp.TOTP(secret.group(1).replace(" ", "")).now()
    form = {"code": code, "password": PASSWORD, "next": "/quan-tri", "csrf": csrf(page)}
    assert browser.post("/quan-tri/xac-thuc", data=form).status_code == 303
    return browser


def test_the_portal_refuses_alike_and_the_auditor_only_reads(portal: RunningServer, site: str) -> None:  # noqa: F811
    operator = client(site, token(portal, "operator"))
    filed = operator.post("/requests", json={"kind": "lock", "address": "lvbinh", "reason": "violation"})
    assert filed.status_code == 201
    with closing(administrator(site, "nvminh")) as manager:  # Sở Nội vụ's manager
        form = csrf(manager.get("/quan-tri/yeu-cau/moi"))
        for refused in (
            manager.get("/quan-tri/hop-thu/lvbinh"),  # an account of Sở Y tế
            manager.get("/quan-tri/co-quan/soyt"),
            manager.get("/quan-tri/hop-thu", params={"co_quan": "soyt"}),
            manager.get(f"/quan-tri/yeu-cau/{filed.json()['id']}"),  # a request of Sở Y tế
            manager.get("/quan-tri/bao-cao", params={"co_quan": "soyt"}),
            manager.get("/quan-tri/bao-cao/tai-ve", params={"ky": "2026-01", "co_quan": "soyt"}),
            manager.post(
                "/quan-tri/yeu-cau/xem-truoc",
                data={"family": "Võ", "given": "An", "agency": "soyt", "csrf": form},
            ),
            manager.post(
                "/quan-tri/yeu-cau/thao-tac",
                data={"kind": "lock", "address": "lvbinh", "reason": "violation", "csrf": form},
            ),
        ):
            assert refused.status_code == 403 and REFUSAL_PAGE in refused.text, refused.request.url
        assert manager.get("/quan-tri/vai-tro").status_code == 403

    portal.run(portal.services.directory.roles.grant("lvbinh", "auditor", actor="ttnanh"))
    with closing(administrator(site, "lvbinh")) as auditor:
        home = auditor.get("/quan-tri")
        assert home.status_code == 200 and 'href="/quan-tri/nhat-ky"' in home.text
        assert 'href="/quan-tri/hop-thu"' not in home.text  # nothing of the agencies' work to do
        log = auditor.get("/quan-tri/nhat-ky", params={"thao_tac": "role."})
        assert log.status_code == 200 and "Giao quyền quản trị" in log.text
        assert auditor.get("/quan-tri/nhat-ky/xuat.csv").status_code == 200
        form = csrf(log)
        for path, data in (
            ("/quan-tri/yeu-cau/gui", {"rows": "[]"}),  # anyone else: 400, "no row can be filed"
            ("/quan-tri/vai-tro", {"address": "lvbinh", "role": "operator"}),
            (f"/quan-tri/yeu-cau/{filed.json()['id']}/tra-loi", {"text": "x"}),
        ):
            refused = auditor.post(path, data={**data, "csrf": form})
            assert refused.status_code == 403 and REFUSAL_PAGE in refused.text, path
    assert not portal.run(portal.services.directory.roles.powers(portal.account_id("lvbinh"))).operator


@pytest.mark.both_backends  # the operator hands an agency its administration, on either backend
def test_the_operator_grants_and_withdraws_on_the_roles_page(portal: RunningServer, page) -> None:  # noqa: F811
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    enter_code(page, pass_second_factor(page, enrol=True))
    page.get_by_role("link", name="Vai trò quản trị").click()
    expect(page.get_by_role("heading", name="Vai trò quản trị")).to_be_visible()
    assert problems(page) == []  # the accessibility check of every portal page
    page.get_by_label("Địa chỉ thư").fill("lvbinh")
    page.get_by_label("Vai trò", exact=True).select_option("agency_manager")
    page.get_by_label("Cơ quan (cho cán bộ đầu mối)").select_option("soyt")
    page.get_by_role("button", name="Giao vai trò").click()
    expect(page.get_by_role("status")).to_contain_text("Đã giao vai trò cán bộ đầu mối của cơ quan (soyt)")
    row = page.locator("table.roles tr", has_text="lvbinh@cantho.gov.vn")
    expect(row).to_contain_text("cán bộ đầu mối")
    row.get_by_role("button", name="Bỏ vai trò").click()
    expect(page.get_by_role("status")).to_contain_text("Đã bỏ vai trò")
    expect(page.locator("table.roles")).not_to_contain_text("lvbinh")
    page.locator("table.roles tr", has_text="ttnanh").get_by_role("button", name="Bỏ vai trò").click()
    expect(page.get_by_role("alert")).to_contain_text("vận hành cuối cùng")  # the system keeps an operator
    assert portal.run(portal.services.directory.roles.grants())[-1].role == "operator"
