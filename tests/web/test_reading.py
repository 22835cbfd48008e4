"""Reading a message in a real browser: sanitised HTML in a sandboxed frame, remote images held back
until allowed, files listed and downloaded whole, the original source, and \\Seen set on opening."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx
import pytest
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
        page.get_by_role("link", name="bao-cao.pdf", exact=True).click()
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


def files_letter() -> bytes:
    """A letter with one file of each kind a person tells apart, most sent as mailers do."""
    files = [
        ("quyet-dinh.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 1_250_000),
        ("anh-hop.jpg", "image/jpeg", b"\xff\xd8\xff" + b"j" * 2000),
        ("so-lieu.xlsx", "application/octet-stream", b"PK" + b"s" * 30_000),
        ("to-trinh.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK"),
        ("ho-so.zip", "application/zip", b"PK" + b"z" * 500),
        ("ghi-chu.xyz", "application/octet-stream", b"n" * 100),
    ]
    parts = b"".join(
        b"--m\r\nContent-Type: " + kind.encode() + b'; name="' + name.encode() + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name.encode() + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data).replace(b"\n", b"\r\n")
        for name, kind, data in files
    )
    return (
        b"From: ban@example.org\r\nTo: nvminh@cantho.gov.vn\r\nSubject: Ho so du an\r\n"
        b"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGui anh ho so.\r\n" + parts + b"--m--\r\n"
    )


def test_files_say_their_kind_and_size_and_the_date_is_whole(imapserver: RunningServer, page) -> None:
    imapserver.deliver("nvminh", files_letter())
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Ho so du an").click()
    expect(page.locator(".headers time")).to_have_text("Thứ Hai, 02/03/2026 08:30")  # the day, not 08:30
    files = page.locator("ul.files li")
    expect(files.locator(".file-text")).to_have_text(
        [
            "quyet-dinh.pdf Tài liệu PDF · 1,2 MB",
            "anh-hop.jpg Ảnh · 2 KB",
            "so-lieu.xlsx Bảng tính · 29,3 KB",
            "to-trinh.docx Văn bản Word · 2 B",
            "ho-so.zip Tệp nén · 502 B",
            "ghi-chu.xyz Tệp · 100 B",
        ]
    )
    assert "application/" not in page.get_by_role("region", name="Tệp đính kèm").inner_text()
    icons = files.locator("svg.file-icon")
    expect(icons).to_have_count(6)
    colours = {icon.evaluate("svg => getComputedStyle(svg).color") for icon in icons.all()}
    assert len(colours) == 6  # a colour, and a mark, of its own for each kind
    page.goto(page.url + "?lang=en")
    expect(page.locator(".headers time")).to_have_text("Mon, 2 Mar 2026 08:30")
    expect(files.first.locator(".file-text")).to_have_text("quyet-dinh.pdf PDF document · 1.2 MB")
    expect(files.nth(2).locator(".file-text")).to_have_text("so-lieu.xlsx Spreadsheet · 29.3 KB")


def bounce(returned: bytes, returned_type: bytes) -> bytes:
    """A delivery status notification as another provider sends it (RFC 6522), returning `returned`."""
    return (
        b"From: Mail Delivery Subsystem <mailer-daemon@example.org>\r\nTo: nvminh@cantho.gov.vn\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\nDate: Tue, 03 Mar 2026 09:00:00 +0700\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Your message wasn't delivered to khongco@example.org.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; khongco@example.org\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--b\r\nContent-Type: " + returned_type + b"\r\n\r\n" + returned + b"\r\n--b--\r\n"
    )


ORIGINAL_HEADER = (
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=cantho.gov.vn; s=hopthu;\r\n"
    b"\th=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n"
    b"\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQgbG9va3MgbGlrZSBvbmU=\r\n"
    b"From: =?utf-8?b?" + base64.b64encode("Nguyễn Văn Minh".encode()) + b"?= <nvminh@cantho.gov.vn>\r\n"
    b"To: khongco@example.org\r\n"
    b"Subject: =?utf-8?b?" + base64.b64encode("Báo cáo tháng 2".encode()) + b"?=\r\n"
    b"Date: Mon, 02 Mar 2026 16:05:00 +0700\r\n"
)


@pytest.mark.parametrize(
    ("returned", "returned_type"),
    [
        (ORIGINAL_HEADER, b"text/rfc822-headers"),
        (
            ORIGINAL_HEADER + b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            b"<p>Noi dung goc</p>",
            b"message/rfc822",
        ),
    ],
    ids=["headers", "whole"],
)
def test_a_bounce_says_which_letter_came_back(
    imapserver: RunningServer, page, returned: bytes, returned_type: bytes
) -> None:
    imapserver.deliver("nvminh", bounce(returned, returned_type))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Delivery Status Notification (Failure)").click()
    frame = page.frame_locator("#body-frame")
    expect(frame.locator("body")).to_contain_text("wasn't delivered to khongco@example.org")  # the report
    shown = frame.locator("body").inner_text() + page.locator("main").inner_text()
    assert "=?utf-8?" not in shown and "DKIM-Signature" not in shown and "Noi dung goc" not in shown
    summary = page.locator("details.returned")
    expect(summary.locator("summary")).to_have_text("Thư bị trả lại")
    expect(summary.locator("dl")).to_have_text(
        re.compile(
            r"Từ\s*Nguyễn Văn Minh <nvminh@cantho.gov.vn>\s*Đến\s*khongco@example.org\s*"
            r"Tiêu đề\s*Báo cáo tháng 2\s*Ngày\s*Thứ Hai, 02/03/2026 16:05"
        )
    )


def tiny_png() -> bytes:
    """A real 3x2 PNG, red: something the browser decodes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 3 for _ in range(2))
    header = struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_images_and_pdfs_are_shown_in_the_browser_as_their_bytes_say(imapserver: RunningServer, page) -> None:
    """A picture is previewed on the page and a PDF opens in the browser; a file that only claims to
    be a picture (here HTML with a script) is never shown inline, only downloaded."""
    files = [
        ("so-do.png", "image/png", tiny_png()),
        ("quyet-dinh.pdf", "application/octet-stream", b"%PDF-1.4\n%%EOF\n"),
        ("gia-mao.png", "image/png", b"<html><script>alert(1)</script></html>"),
    ]
    parts = b"".join(
        b"--m\r\nContent-Type: " + kind.encode() + b'; name="' + name.encode() + b'"\r\n'
        b'Content-Disposition: attachment; filename="' + name.encode() + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data).replace(b"\n", b"\r\n")
        for name, kind, data in files
    )
    imapserver.deliver(
        "nvminh",
        b"From: ban@example.org\r\nTo: nvminh@cantho.gov.vn\r\nSubject: So do va quyet dinh\r\n"
        b"Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGui so do.\r\n" + parts + b"--m--\r\n",
    )
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="So do va quyet dinh").click()
    picture = page.get_by_role("img", name="so-do.png")
    expect(picture).to_be_visible()
    page.wait_for_function("img => img.complete", arg=picture.element_handle())
    assert picture.evaluate("img => img.naturalWidth") == 3
    shown = {}
    for name in ("so-do.png", "quyet-dinh.pdf", "gia-mao.png"):
        link = page.get_by_role("link", name=f"Xem {name}")
        answer = page.request.get(link.get_attribute("href") or "")
        shown[name] = (answer.headers["content-type"], answer.headers["content-disposition"].split(";")[0])
        assert answer.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert shown == {
        "so-do.png": ("image/png", "inline"),
        "quyet-dinh.pdf": ("application/pdf", "inline"),  # as its bytes say, not as it was sent
        "gia-mao.png": ("image/png", "attachment"),
    }
    with page.expect_popup() as opened:
        page.get_by_role("link", name="Xem quyet-dinh.pdf").click()
    viewer = opened.value
    viewer.wait_for_load_state("load")
    assert viewer.url.endswith("?xem=1")
    assert viewer.evaluate("document.contentType") == "application/pdf"  # shown by the browser's viewer
