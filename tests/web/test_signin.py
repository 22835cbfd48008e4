"""Signing in and out of the webmail in a real browser (R5.2, R5.3, R6, R11.4)."""

from __future__ import annotations

import re

import httpx
from imapclient import IMAPClient
from playwright.sync_api import expect

from hopthu.directory.people import PersonRow
from hopthu.policy.lifecycle import Action, Reason
from tests.imap.conftest import RunningServer, insecure_tls
from tests.smtp.conftest import PASSWORD
from tests.web.conftest import sign_in

NEW_PASSWORD = "Can-Tho-2026!"


def test_first_sign_in_forces_a_password_change(imapserver: RunningServer, page) -> None:
    """R5.2: a new person's temporary password leads to the change page, and nothing else is reached
    until it is changed; R5.3's rules are shown as they are met."""
    directory = imapserver.services.directory
    (person,) = imapserver.run(
        directory.people.register([PersonRow("Lê", "Hoàng", "Nam", "sonv")], actor="test")
    )
    sign_in(page, person.address, person.temporary_password)
    page.wait_for_url("**/doi-mat-khau")
    page.goto("/cai-dat")
    page.wait_for_url("**/doi-mat-khau")  # nothing can be reached around it
    page.get_by_label("Mật khẩu hiện tại").fill(person.temporary_password)
    page.get_by_label("Mật khẩu mới", exact=True).fill("yeu")
    assert page.locator("li.met").count() == 2  # only "lowercase" and "not your name" so far
    page.get_by_label("Mật khẩu mới", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu mới").fill(NEW_PASSWORD)
    assert page.locator("li.met").count() == 7
    page.get_by_role("button", name="Đổi mật khẩu").click()
    page.wait_for_url(re.compile(r".*/thu/\d+\?doi-mat-khau=1&chao=1$"))  # on to the mail, shown around
    assert "Đã đổi mật khẩu" in page.content()
    client = IMAPClient("127.0.0.1", port=imapserver.port("imaps"), ssl=True, ssl_context=insecure_tls())
    client.login(person.address, NEW_PASSWORD)  # the same password everywhere, now allowed
    client.logout()


def test_a_weak_password_is_refused_by_the_server_too(imapserver: RunningServer, page) -> None:
    """R5.3 is checked on the server whatever the page's script says."""
    directory = imapserver.services.directory
    (person,) = imapserver.run(
        directory.people.register([PersonRow("Võ", "Thị", "Hoa", "sonv")], actor="test")
    )
    sign_in(page, person.address, person.temporary_password)
    page.wait_for_url("**/doi-mat-khau")
    page.get_by_label("Mật khẩu hiện tại").fill(person.temporary_password)
    page.get_by_label("Mật khẩu mới", exact=True).fill("matkhau123")
    page.get_by_label("Nhập lại mật khẩu mới").fill("matkhau123")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    assert "cần có chữ in hoa" in page.get_by_role("alert").inner_text()


def test_refusals_say_why_in_vietnamese(imapserver: RunningServer, page) -> None:
    """Wrong password; a locked mailbox (R6) is told where to turn."""
    sign_in(page, "nvminh", "sai-mat-khau")
    assert page.get_by_role("alert").inner_text() == "Sai địa chỉ hoặc mật khẩu"
    accounts = imapserver.services.directory.accounts
    imapserver.run(
        accounts.change_status("ttnanh", Action.LOCK, reason=Reason.VIOLATION, ref=None, actor="test")
    )
    sign_in(page, "ttnanh", PASSWORD)
    assert "hotro@cantho.gov.vn" in page.get_by_role("alert").inner_text()


def test_sign_out_everywhere(imapserver: RunningServer, browser, site: str) -> None:
    """R11.4: the sessions are listed; one button ends them all, in every browser."""
    first = browser.new_context(base_url=site).new_page()
    second = browser.new_context(base_url=site).new_page()
    sign_in(first, "nvminh", PASSWORD)
    sign_in(second, "nvminh", PASSWORD, public=True)
    second.wait_for_url("**/thu/*")
    first.goto("/cai-dat")
    sessions = first.locator("section[aria-labelledby=sessions] table.list")
    assert sessions.locator("tbody tr").count() == 2
    assert "máy công cộng" in sessions.inner_text()
    first.get_by_role("button", name="Đăng xuất khỏi mọi thiết bị").click()
    first.wait_for_url("**/dang-nhap")
    second.goto("/cai-dat")
    second.wait_for_url("**/dang-nhap?next=/cai-dat")
    first.context.close()
    second.context.close()


def test_public_computer_session_ends_with_the_browser(imapserver: RunningServer, page) -> None:
    """R11.4: no lifetime on the cookie of a public-computer session (it ends with the browser)."""
    sign_in(page, "nvminh", PASSWORD, public=True)
    page.wait_for_url("**/thu/*")
    # The test server's public address is https: the cookie is __Host- prefixed and Secure (the
    # browser keeps it on http://127.0.0.1, a trustworthy origin).
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "__Host-hopthu_session"]
    assert cookie["expires"] == -1 and cookie["httpOnly"] and cookie["secure"] and cookie["path"] == "/"


def test_english_switch(imapserver: RunningServer, page) -> None:
    page.goto("/dang-nhap?lang=en")
    assert page.get_by_role("heading").inner_text() == "Sign in to your mailbox"
    page.goto("/dang-nhap")
    assert page.get_by_role("button", name="Sign in").is_visible()  # the choice is remembered


def test_forms_without_their_token_are_refused(site: str) -> None:
    """CSRF: a form posted from elsewhere (no token) changes nothing."""
    answer = httpx.post(f"{site}/dang-nhap", data={"login": "nvminh", "password": PASSWORD})
    assert answer.status_code == 400 and not any("hopthu_session" in name for name in answer.cookies)


def test_errors_are_pages_in_vietnamese_without_traceback(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    missing = page.goto("/thu/999999")
    assert missing.status == 404
    assert "Không tìm thấy trang hoặc thư này" in page.content() and "Traceback" not in page.content()
    invalid = page.goto("/thu/khong-phai-so")
    assert invalid.status == 422 and "Dữ liệu không hợp lệ" in page.content()


def test_signature_and_out_of_office_are_saved(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/cai-dat")
    page.get_by_role("textbox", name="Chữ ký").fill("Nguyễn Văn Minh\nSở Nội vụ")
    page.get_by_label(re.compile("Bật trả lời tự động")).check()
    page.get_by_role("button", name="Lưu").click()
    assert "Cần nội dung" in page.get_by_role("alert").inner_text()  # on, but nothing to say
    page.get_by_label("Nội dung trả lời").fill("Tôi đi công tác đến hết tuần.")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_url("**/cai-dat?da-luu=1")
    account = imapserver.run(imapserver.services.directory.accounts.get("nvminh"))
    saved = imapserver.run(imapserver.services.directory.preferences.get(account.id))
    assert saved.signature == "Nguyễn Văn Minh\nSở Nội vụ" and saved.vacation_on
    assert saved.vacation_text == "Tôi đi công tác đến hết tuần."


def test_a_banner_when_the_password_expires_soon(imapserver: RunningServer, page) -> None:
    """R5.2: from 14 days before expiry every page says how many days are left."""
    import datetime as dt

    import sqlalchemy as sa

    from hopthu.store.schema import account

    async def age(days: int) -> None:
        changed = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        async with imapserver.services.store.db.write() as conn:
            await conn.execute(
                sa.update(account).where(account.c.local == "nvminh").values(password_changed_at=changed)
            )

    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    expect(page.locator(".password-banner")).to_have_count(0)
    imapserver.run(age(85))  # about 6 days left of 3 months
    page.reload()
    expect(page.locator(".password-banner")).to_contain_text(re.compile(r"hết hạn sau \d ngày"))
    page.get_by_role("link", name="Đổi mật khẩu ngay").click()
    page.wait_for_url("**/doi-mat-khau")
