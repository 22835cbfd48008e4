"""The access log (R13.4, R13.6) end to end: a sign-in over IMAP, POP3, SMTP submission, the webmail
and the API, refused or not, each leaves an event naming its protocol, source, client and result; a
delegate's opening of an agency mailbox names both; the owner sees their recent activity; the
operator searches and exports it in the portal and the API; an agency manager is refused both."""

from __future__ import annotations

import csv
import imaplib
import io
import poplib
import smtplib

import httpx
import pytest

from hopthu.directory.accesslog import AccessEvent, AccessQuery
from hopthu.directory.websessions import token_id
from tests.imap.conftest import RunningServer
from tests.smtp.conftest import PASSWORD, insecure_tls
from tests.web.test_admin import portal  # noqa: F401  (the fixture)
from tests.web.test_api import token

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def _events(server: RunningServer, local: str) -> list[AccessEvent]:
    log = server.services.directory.ctx.access_log
    return server.run(log.search(AccessQuery(account_id=server.account_id(local))))


def _web(server: RunningServer, login: str, password: str = PASSWORD) -> httpx.Client:
    site = f"http://127.0.0.1:{server.port('http')}"
    client = httpx.Client(base_url=site, headers={"Origin": site, "User-Agent": BROWSER}, timeout=30)

    def keep(response: httpx.Response) -> None:  # the site's cookies are Secure; the test talks plain http
        for line in response.headers.get_list("set-cookie"):
            name, _, value = line.split(";", 1)[0].partition("=")
            client.cookies.set(name, value)

    client.event_hooks["response"] = [keep]
    form = client.get("/dang-nhap").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    client.post("/dang-nhap", data={"login": login, "password": password, "csrf": csrf})
    return client


def _administrator(server: RunningServer, login: str) -> httpx.Client:
    """Signed in to the webmail, the second factor taken as proved (its own tests are elsewhere)."""
    client = _web(server, login)
    session = token_id(client.cookies.get("__Host-hopthu_session", domain=""))
    server.run(server.services.web_sessions.second_factor_proved(session))
    return client


def test_every_protocol_leaves_its_sign_ins(portal: RunningServer) -> None:  # noqa: F811
    imap = portal.connect()
    imap.xatom("ID", '("name" "Thunderbird" "version" "128.5")')
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("nvminh", "sai-mat-khau")
    imap.login("nvminh", PASSWORD)
    assert imap.select('"Shared/sonv/INBOX"')[0] == "OK"  # nvminh is the agency mailbox's delegate
    imap.logout()

    pop3 = poplib.POP3_SSL("127.0.0.1", portal.port("pop3s"), context=insecure_tls(), timeout=30)
    pop3.user("ttnanh")
    pop3.pass_(PASSWORD)
    pop3.quit()
    with smtplib.SMTP("127.0.0.1", portal.port("submission"), timeout=30) as smtp:
        smtp.ehlo("pc-vanthu")
        smtp.starttls(context=insecure_tls())
        smtp.ehlo("pc-vanthu")
        smtp.login("ttnanh", PASSWORD)
    _web(portal, "ttnanh").close()
    with pytest.raises(imaplib.IMAP4.error):
        portal.login("khong-co-ai", PASSWORD)

    nvminh = [(e.protocol, e.result, e.client, e.mailbox) for e in reversed(_events(portal, "nvminh"))]
    assert nvminh == [
        ("imap", "bad_credentials", "Thunderbird 128.5", ""),
        ("imap", "success", "Thunderbird 128.5", ""),
        ("imap", "delegate", "Thunderbird 128.5", "sonv"),
    ]
    ttnanh = [(e.protocol, e.result, e.client, e.source) for e in reversed(_events(portal, "ttnanh"))]
    assert ttnanh == [
        ("pop3", "success", "", "127.0.0.1"),
        ("submission", "success", "pc-vanthu", "127.0.0.1"),
        ("web", "success", BROWSER, "127.0.0.1"),
    ]
    log = portal.services.directory.ctx.access_log
    (unknown,) = portal.run(log.search(AccessQuery(login="khong-co-ai")))
    assert (unknown.account_id, unknown.result, unknown.address) == (None, "bad_credentials", "")

    # The owner sees them on the settings page, and can still end a session there.
    owner = _web(portal, "nvminh")
    settings = owner.get("/cai-dat").text
    assert "Hoạt động gần đây" in settings and "Thunderbird 128.5" in settings
    assert "Sai địa chỉ hoặc mật khẩu" in settings and "Chrome trên Windows" in settings


def test_operators_search_and_export_and_managers_are_refused(portal: RunningServer) -> None:  # noqa: F811
    with pytest.raises(imaplib.IMAP4.error):
        portal.login("nvminh", "sai-mat-khau")
    portal.login("ttnanh").logout()

    operator = _administrator(portal, "ttnanh")
    found = operator.get(
        "/quan-tri/nhat-ky-truy-cap", params={"hop_thu": "nvminh", "ket_qua": "bad_credentials"}
    )
    assert found.status_code == 200 and "Nhật ký truy cập" in found.text
    assert "nvminh" in found.text and "ttnanh</td>" not in found.text
    exported = operator.get("/quan-tri/nhat-ky-truy-cap/xuat.csv", params={"giao_thuc": "imap"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["so", "luc", "hop_thu"]
    assert {(r[2], r[7]) for r in rows[1:]} == {
        ("nvminh@cantho.gov.vn", "bad_credentials"),
        ("ttnanh@cantho.gov.vn", "success"),
    }

    manager = _administrator(portal, "nvminh")  # Sở Nội vụ's agency manager: no records to read
    assert manager.get("/quan-tri/nhat-ky-truy-cap").status_code == 403
    assert manager.get("/quan-tri/nhat-ky-truy-cap/xuat.csv").status_code == 403

    api = f"http://127.0.0.1:{portal.port('http')}/api/v1/access-log"
    managers = {"Authorization": f"Bearer {token(portal, 'agency_manager', 'sonv')}"}
    refused = httpx.get(api, headers=managers, timeout=30)
    assert refused.status_code == 403 and refused.json()["vi"]
    operators = {"Authorization": f"Bearer {token(portal, 'operator')}"}
    answer = httpx.get(api, params={"address": "nvminh@cantho.gov.vn"}, headers=operators, timeout=30)
    assert answer.status_code == 200, answer.text
    assert [(e["protocol"], e["result"]) for e in answer.json()][-1] == ("imap", "bad_credentials")
    tokens = [e["result"] for e in httpx.get(api, params={"protocol": "api"}, headers=operators).json()]
    assert tokens == ["success", "success"]  # each token's use, once a minute; never its secret


@pytest.mark.both_backends  # "who accessed this mailbox, when" answered from the portal, either backend
def test_an_auditor_answers_who_accessed_a_mailbox_in_the_portal(portal: RunningServer, page) -> None:  # noqa: F811
    """R13.6: an auditor signs in to the portal, asks for nvminh's accesses and reads the refused and
    the successful IMAP sign-ins with their program; the portal offers them nothing to change."""
    portal.run(portal.services.directory.roles.grant("lvbinh", "auditor", actor="test"))
    imap = portal.connect()
    imap.xatom("ID", '("name" "Thunderbird" "version" "128.5")')
    with pytest.raises(imaplib.IMAP4.error):
        imap.login("nvminh", "not-the-password")
    imap.login("nvminh", PASSWORD)
    imap.logout()
    from playwright.sync_api import expect

    from tests.web.conftest import sign_in
    from tests.web.test_accessibility import problems
    from tests.web.test_admin import enter_code, pass_second_factor

    sign_in(page, "lvbinh")
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    enter_code(page, pass_second_factor(page, enrol=True))
    menu = page.get_by_role("navigation", name="Quản trị")
    expect(menu.get_by_role("link", name="Nhật ký truy cập")).to_be_visible()
    expect(menu.get_by_role("link", name="Hộp thư", exact=True)).to_have_count(0)  # nothing to act on
    menu.get_by_role("link", name="Nhật ký truy cập").click()
    page.get_by_label("Hộp thư (địa chỉ)").fill("nvminh@cantho.gov.vn")
    page.get_by_label("Giao thức").select_option("imap")
    page.get_by_role("button", name="Tra cứu").click()
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Thunderbird 128.5")
    expect(rows.nth(0)).to_contain_text("Thành công")
    expect(rows.nth(1)).to_contain_text("Sai địa chỉ hoặc mật khẩu")
    assert problems(page) == []
