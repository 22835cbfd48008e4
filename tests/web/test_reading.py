"""Reading a message in a real browser: sanitised HTML in a sandboxed frame, remote images held back
until allowed, files listed and downloaded whole, the original source, and \\Seen set on opening."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in

PDF = b"%PDF-1.4 " + bytes(range(256)) * 40


def html_letter() -> bytes:
    html = (
        '<p>Kính gửi <b>các phòng</b>.</p><script>document.title="hacked"</script>'
        '<img src="https://tracker.example/pixel.png" alt="pixel"><img src="cid:logo@so" alt="logo">'
        '<a href="javascript:alert(1)">bấm</a>'
    ).encode()
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    return (
        b"From: =?utf-8?b?" + base64.b64encode("Văn phòng Sở".encode()) + b"?= <vanphong@example.org>\r\n"
        b"To: nvminh@cantho.gov.vn\r\nCc: ttnanh@cantho.gov.vn\r\n"
        b"Subject: =?utf-8?b?" + base64.b64encode("Thông báo họp".encode()) + b"?=\r\n"
        b"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b'--m\r\nContent-Type: multipart/related; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + html + b"\r\n"
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@so>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(png).replace(b"\n", b"\r\n")
        + b"--r--\r\n"
        b'--m\r\nContent-Type: application/pdf; name="bao-cao.pdf"\r\n'
        b'Content-Disposition: attachment; filename="bao-cao.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(PDF).replace(b"\n", b"\r\n")
        + b"--m--\r\n"
    )


def test_reading_a_message(imapserver: RunningServer, page, site: str) -> None:
    imapserver.deliver("nvminh", html_letter())
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Thông báo họp").click()
    expect(page.get_by_role("heading", name="Thông báo họp")).to_be_visible()
    assert "Văn phòng Sở <vanphong@example.org>" in page.locator(".headers").inner_text()
    frame = page.frame_locator("#body-frame")
    expect(frame.locator("b")).to_have_text("các phòng")
    assert frame.locator("script").count() == 0
    assert page.title() != "hacked"
    assert frame.locator("img[alt=pixel]").get_attribute("src") is None  # the tracker is held back
    assert frame.locator("img[alt=logo]").get_attribute("src").endswith("/tep/1.2")  # inline image, ours
    assert frame.locator("a").get_attribute("href") is None
    expect(page.get_by_role("status")).to_contain_text("Đã chặn 1 hình ảnh")
    page.get_by_role("link", name="Hiện hình ảnh").click()
    expect(frame.locator("img[alt=pixel]")).to_have_attribute("src", "https://tracker.example/pixel.png")
    with page.expect_download() as download:
        page.get_by_role("link", name="bao-cao.pdf").click()
    assert download.value.suggested_filename == "bao-cao.pdf"
    assert Path(download.value.path()).read_bytes() == PDF
    imap = imapserver.login()
    imap.select("INBOX")
    assert b"\\Seen" in imap.fetch("1", "FLAGS")[1][0]  # opened is read, for IMAP too
    imap.logout()
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    source = httpx.get(page.url.split("?")[0] + "/goc", cookies=cookies)
    assert (
        source.headers["content-type"].startswith("text/plain") and b"Content-ID: <logo@so>" in source.content
    )


def test_another_persons_message_is_not_found(imapserver: RunningServer, page, site: str) -> None:
    uid = imapserver.deliver("ttnanh", html_letter())
    box = imapserver.run(imapserver.services.store.mail.mailbox(imapserver.account_id("ttnanh"), "INBOX"))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    answer = page.goto(f"/thu/{box.id}/{uid}")
    assert answer.status == 404
    assert page.goto(f"/thu/{box.id}/{uid}/tep/2").status == 404
