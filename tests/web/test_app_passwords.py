"""App passwords through the webmail and real mail programs (R3.2, R3.3, R6, R11.4): one is made on the
settings page and works for imaplib, poplib and smtplib; the webmail refuses it, saying why; its last
use shows on the page; once revoked, or with the mailbox locked, it no longer signs in."""

from __future__ import annotations

import imaplib
import poplib
import smtplib

import httpx
import pytest
from playwright.sync_api import expect

from hopthu.policy.lifecycle import Action, Reason
from tests.imap.conftest import RunningServer, insecure_tls
from tests.smtp.conftest import PASSWORD
from tests.web.conftest import sign_in


def _imap(imapserver: RunningServer, letters: str) -> None:
    client = imaplib.IMAP4_SSL("127.0.0.1", imapserver.port("imaps"), ssl_context=insecure_tls(), timeout=30)
    try:
        client.login("nvminh@cantho.gov.vn", letters)
        assert client.select("INBOX")[0] == "OK"
    finally:
        client.shutdown()


def _pop3(imapserver: RunningServer, letters: str) -> None:
    client = poplib.POP3_SSL("127.0.0.1", imapserver.port("pop3s"), context=insecure_tls(), timeout=30)
    try:
        client.user("nvminh")
        assert client.pass_(letters).startswith(b"+OK")
    finally:
        client.quit()


def _smtp(imapserver: RunningServer, letters: str) -> None:
    with smtplib.SMTP("127.0.0.1", imapserver.port("submission"), timeout=30) as client:
        client.starttls(context=insecure_tls())
        code, _ = client.login("nvminh", letters)
        assert code == 235
        refused = client.sendmail(
            "nvminh@cantho.gov.vn",
            ["ttnanh@cantho.gov.vn"],
            b"From: nvminh@cantho.gov.vn\r\nTo: ttnanh@cantho.gov.vn\r\nSubject: Thu tu Thunderbird\r\n"
            b"\r\nGui bang mat khau ung dung.\r\n",
        )
        assert refused == {}


def test_one_made_on_the_page_signs_in_mail_programs_and_not_the_webmail(
    imapserver: RunningServer, page
) -> None:
    sign_in(page, "nvminh", PASSWORD)
    page.wait_for_url("**/thu/*")
    page.goto("/cai-dat")
    section = page.locator("#app-passwords-section")
    expect(section.get_by_text("Chưa có.")).to_be_visible()
    section.get_by_label("Tên chương trình hay thiết bị").fill("Thunderbird máy cơ quan")
    section.get_by_role("button", name="Tạo mật khẩu ứng dụng").click()
    expect(page.locator("#new-app-password")).to_contain_text("Thunderbird máy cơ quan")
    letters = page.locator("#app-password-letters").inner_text()
    assert len(letters) == 19 and letters.count(" ") == 3
    expect(section.locator("table.list")).to_contain_text("Chưa dùng")

    _imap(imapserver, letters)
    _pop3(imapserver, letters.replace(" ", ""))  # typed without the spaces
    _smtp(imapserver, letters.upper())  # a phone's keyboard in capitals

    page.goto("/cai-dat")
    row = page.locator("#app-passwords-section table.list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Thunderbird máy cơ quan")
    expect(row).to_contain_text("từ 127.0.0.1")
    expect(row).not_to_contain_text("Chưa dùng")
    assert letters not in page.content()  # shown that once only

    other = page.context.browser.new_context(base_url=page.url.split("/cai-dat")[0]).new_page()
    sign_in(other, "nvminh", letters)
    expect(other.get_by_role("alert")).to_contain_text("mật khẩu ứng dụng")
    assert "/dang-nhap" in other.url
    other.context.close()

    row.get_by_role("button", name="Thu hồi").click()
    expect(page.get_by_text("Đã thu hồi mật khẩu ứng dụng.")).to_be_visible()
    expect(page.locator("#app-passwords-section").get_by_text("Chưa có.")).to_be_visible()
    with pytest.raises(imaplib.IMAP4.error):
        _imap(imapserver, letters)


def test_names_are_refused_in_both_languages(imapserver: RunningServer, site: str) -> None:
    """An empty or a duplicate name answers 400 with the reason, in the language chosen."""
    with httpx.Client(base_url=site, headers={"Origin": site}, timeout=30) as web:

        def keep(response: httpx.Response) -> None:  # the site's cookies are Secure; this is plain http
            for line in response.headers.get_list("set-cookie"):
                name, _, value = line.split(";", 1)[0].partition("=")
                web.cookies.set(name, value)

        web.event_hooks["response"] = [keep]
        csrf = _csrf(web.get("/dang-nhap").text)
        web.post("/dang-nhap", data={"login": "nvminh", "password": PASSWORD, "csrf": csrf})
        csrf = _csrf(web.get("/cai-dat").text)
        made = web.post("/cai-dat/mat-khau-ung-dung", data={"name": "iPhone", "csrf": csrf})
        assert made.status_code == 200 and 'id="app-password-letters"' in made.text
        again = web.post("/cai-dat/mat-khau-ung-dung?lang=en", data={"name": " iphone ", "csrf": csrf})
        assert again.status_code == 400
        assert "There is already an app password named “iphone”" in again.text
        empty = web.post("/cai-dat/mat-khau-ung-dung?lang=vi", data={"name": "  ", "csrf": csrf})
        assert empty.status_code == 400 and "Hãy đặt tên cho mật khẩu ứng dụng" in empty.text
        long = web.post("/cai-dat/mat-khau-ung-dung", data={"name": "x" * 5000, "csrf": csrf})
        assert long.status_code == 400 and "Tên dài quá 60 ký tự" in long.text


def test_r6_a_locked_mailbox_refuses_its_app_password(imapserver: RunningServer) -> None:
    directory = imapserver.services.directory
    minh = imapserver.account_id("nvminh")
    _, letters = imapserver.run(directory.app_passwords.create(minh, "Điện thoại", actor="nvminh"))
    _imap(imapserver, letters)
    imapserver.run(
        directory.accounts.change_status(
            "nvminh", Action.LOCK, reason=Reason.VIOLATION, ref=None, actor="test"
        )
    )
    with pytest.raises(imaplib.IMAP4.error, match="UNAVAILABLE"):
        _imap(imapserver, letters)
    with pytest.raises(poplib.error_proto):
        _pop3(imapserver, letters)
    with pytest.raises(smtplib.SMTPAuthenticationError):
        _smtp(imapserver, letters)


def _csrf(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def test_an_open_imap_session_ends_when_its_app_password_is_revoked(imapserver: RunningServer) -> None:
    """A lost phone's connection does not outlive its revocation; sessions on the main password stay."""
    directory = imapserver.services.directory
    minh = imapserver.account_id("nvminh")
    phone, letters = imapserver.run(directory.app_passwords.create(minh, "Điện thoại", actor="nvminh"))
    on_phone = imapserver.connect()
    on_phone.login("nvminh", letters)
    on_phone.select("INBOX")
    on_main = imapserver.login()
    on_main.select("INBOX")
    imapserver.run(directory.app_passwords.revoke(minh, phone.id, actor="nvminh"))
    with pytest.raises(imaplib.IMAP4.abort, match="app password was revoked"):
        on_phone.noop()
    assert on_main.noop()[0] == "OK"
    on_main.logout()
