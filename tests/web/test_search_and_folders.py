"""Search across folders, folder management, emptying Trash, exports and spam reports, in a real
browser, against the same store as IMAP."""

from __future__ import annotations

import datetime as dt
import email
import email.header
import email.policy
import email.utils
import imaplib
import mailbox
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from hopthu.directory.creation import create_account
from hopthu.imap.mutf7 import encode_mutf7
from hopthu.mail import canonical
from hopthu.store.schema import agency, queue_item
from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in

# Search, conversations and sorting are queries that differ by backend: in the browser on both.
pytestmark = pytest.mark.both_backends


VIETNAM = dt.timezone(dt.timedelta(hours=7))


def named(name: str, address: str) -> str:
    return email.utils.formataddr((name, address), "utf-8")


def with_file(subject: str, sender: str = "vanthu@example.org") -> bytes:
    return (
        f"From: {sender}\r\nTo: nvminh@cantho.gov.vn\r\nSubject: {subject}\r\n"
        "Date: Mon, 02 Mar 2026 08:30:00 +0700\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nXem tệp kèm theo.\r\n"
        '--b\r\nContent-Type: application/pdf; name="ke-hoach.pdf"\r\n'
        'Content-Disposition: attachment; filename="ke-hoach.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
    ).encode()


def append(imapserver: RunningServer, data: bytes, when: dt.datetime, folder: str = "INBOX") -> None:
    """A message with a chosen received time, as a mail client importing old mail would put it."""
    imap = imapserver.login()
    assert imap.append(folder, "", imaplib.Time2Internaldate(when), canonical(data))[0] == "OK"
    imap.logout()


def search_for(page, words: str) -> None:
    page.get_by_role("searchbox", name="Tìm thư").fill(words)
    page.get_by_role("button", name="Tìm", exact=True).click()


def results(page):
    return page.locator("section.results tbody tr")


def test_search_without_diacritics_across_folders(imapserver: RunningServer, page) -> None:
    imapserver.deliver("nvminh", message("Công văn số 7 về đề án", "Kính gửi."), mailbox="Archive")
    imapserver.deliver("nvminh", message("Giấy mời họp", "Về công văn khẩn của Sở."))
    imapserver.deliver("nvminh", message("Thông báo nghỉ lễ", "Nghỉ từ thứ hai."))
    imapserver.deliver("sonv", message("Công văn gửi Sở", to="sonv@cantho.gov.vn"))  # delegated to nvminh
    imapserver.deliver("ttnanh", message("Công văn của người khác", to="ttnanh@cantho.gov.vn"))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    search_for(page, "cong van")
    expect(page.get_by_role("heading", name="Kết quả")).to_be_visible()
    expect(results(page)).to_have_count(3)  # never another person's mail
    agency = results(page).filter(has_text="Công văn gửi Sở")
    expect(agency.get_by_role("link", name="Sở Nội vụ · Hộp thư đến")).to_be_visible()
    archived = results(page).filter(has_text="Công văn số 7")
    expect(archived.get_by_role("link", name="Lưu trữ")).to_be_visible()  # each shows its folder
    expect(
        results(page).filter(has_text="Giấy mời họp").get_by_role("link", name="Hộp thư đến")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Thông báo nghỉ lễ")).to_have_count(0)
    # "Nguyễn"-style folding works in the other direction too: marks typed, none stored is fine.
    page.get_by_label("Từ khóa").fill("ĐỀ ÁN")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(results(page)).to_have_count(1)
    page.get_by_role("link", name="Công văn số 7 về đề án").click()
    expect(page.get_by_role("heading", name="Công văn số 7 về đề án")).to_be_visible()
    assert "/thu/" in page.url
    page.goto("/tim-kiem?q=khong+co+thu+nao")
    expect(page.get_by_text("Không tìm thấy thư nào.")).to_be_visible()


def test_search_filters(imapserver: RunningServer, page) -> None:
    an = named("Nguyễn Văn An", "an@example.org")
    imapserver.deliver("nvminh", message("Kế hoạch quý", "Gửi anh Minh.", sender=an))
    imapserver.deliver(
        "nvminh", message("Chuyển lời", "Anh Nguyễn Văn An nhờ chuyển.", sender="binh@example.org")
    )
    imapserver.deliver("nvminh", with_file("Ke hoach co tep"))
    for when, subject in [
        (dt.datetime(2026, 1, 15, 10, 0, tzinfo=VIETNAM), "Báo cáo tháng 1"),
        (dt.datetime(2026, 2, 1, 0, 10, tzinfo=VIETNAM), "Báo cáo đầu tháng 2"),  # 31/1 in UTC
        (dt.datetime(2026, 2, 28, 23, 30, tzinfo=VIETNAM), "Báo cáo cuối tháng 2"),
        (dt.datetime(2026, 3, 1, 0, 30, tzinfo=VIETNAM), "Báo cáo tháng 3"),  # 28/2 in UTC
    ]:
        append(imapserver, message(subject, "Số liệu."), when)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/tim-kiem")
    page.get_by_label("Người gửi").fill("nguyen van an")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(results(page)).to_have_count(1)  # the From: field, not a body that names him
    expect(page.get_by_role("link", name="Kế hoạch quý")).to_be_visible()

    page.get_by_label("Người gửi").fill("")
    page.get_by_label("Từ khóa").fill("bao cao")
    page.get_by_label("Nhận từ ngày").fill("2026-02-01")
    page.get_by_label("Đến ngày").fill("2026-02-28")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(results(page)).to_have_count(2)  # days are Vietnam's days
    expect(page.get_by_role("link", name="Báo cáo đầu tháng 2")).to_be_visible()
    expect(page.get_by_role("link", name="Báo cáo cuối tháng 2")).to_be_visible()

    page.goto("/tim-kiem?q=ke+hoach")
    expect(results(page)).to_have_count(2)
    page.get_by_label("Chỉ thư có tệp đính kèm").check()
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(results(page)).to_have_count(1)
    expect(page.get_by_role("link", name="Ke hoach co tep")).to_be_visible()

    page.goto("/tim-kiem?tieu-de=thang&den=nvminh")
    expect(results(page)).to_have_count(4)
    page.goto("/tim-kiem?tu-ngay=31/02/2026")
    expect(page.get_by_role("alert")).to_contain_text("Ngày không hợp lệ")


def test_search_pages(imapserver: RunningServer, page) -> None:
    for n in range(55):
        imapserver.deliver(
            "nvminh", message(f"Thư định kỳ {n}", "Nội dung."), mailbox="Archive" if n % 2 else "INBOX"
        )
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    search_for(page, "dinh ky")
    expect(results(page)).to_have_count(50)
    expect(results(page).first).to_contain_text("Thư định kỳ 54")  # newest first
    page.get_by_role("link", name="Thư cũ hơn →").click()
    expect(results(page)).to_have_count(5)
    expect(results(page).last).to_contain_text("Thư định kỳ 0")
    expect(page.get_by_role("link", name="Thư cũ hơn →")).to_have_count(0)


def test_create_rename_delete_folder(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Quản lý thư mục").click()
    expect(page.get_by_role("heading", name="Quản lý thư mục")).to_be_visible()
    page.get_by_label("Tên thư mục").fill("Dự án")
    page.get_by_role("button", name="Tạo thư mục").click()
    expect(page.get_by_role("status")).to_contain_text("Đã tạo thư mục «Dự án»")
    folders = page.get_by_role("navigation", name="Thư mục")
    expect(folders.get_by_role("link", name="Dự án")).to_be_visible()
    imapserver.deliver("nvminh", message("Hồ sơ dự án"), mailbox="Dự án")

    page.get_by_label("Tên mới cho «Dự án»").fill("Dự án 2026")
    page.get_by_role("button", name="Đổi tên «Dự án»").click()
    expect(page.get_by_role("status")).to_contain_text("Đã đổi tên thành «Dự án 2026»")
    expect(folders.get_by_role("link", name="Dự án 2026")).to_be_visible()
    imap = imapserver.login()
    assert imap.select(f'"{encode_mutf7("Dự án 2026")}"')[1] == [b"1"]  # the same store: IMAP sees it
    imap.logout()

    page.get_by_text("Xóa «Dự án 2026»").click()  # the confirmation opens
    page.get_by_role("button", name="Xóa thư mục «Dự án 2026»").click()
    expect(page.get_by_role("status")).to_contain_text("Đã xóa thư mục «Dự án 2026»")
    expect(folders.get_by_role("link", name="Dự án 2026")).to_have_count(0)
    imap = imapserver.login()
    assert imap.select("Trash")[1] == [b"1"]  # its mail went to Trash
    assert not any(encode_mutf7("Dự án").encode() in line for line in imap.list()[1])
    imap.logout()


def test_system_folders_are_protected(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/thu-muc")
    page.get_by_label("Tên thư mục").fill("Thư rác")
    page.get_by_role("button", name="Tạo thư mục").click()
    expect(page.get_by_role("alert")).to_contain_text("trùng với thư mục hệ thống «Thư rác»")
    page.get_by_label("Tên thư mục").fill("inbox")
    page.get_by_role("button", name="Tạo thư mục").click()
    expect(page.get_by_role("alert")).to_contain_text("trùng với thư mục hệ thống «Hộp thư đến»")
    # The page offers no rename or delete for them; a form sent by hand is refused all the same.
    expect(page.get_by_role("button", name=re.compile("Đổi tên"))).to_have_count(0)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    junk = imapserver.run(imapserver.services.store.mail.mailbox(imapserver.account_id("nvminh"), "Junk"))
    answer = page.request.post(f"/thu-muc/{junk.id}/xoa", form={"csrf": csrf})
    assert answer.status == 400
    assert "Không thể xóa thư mục hệ thống «Thư rác»" in answer.text()
    answer = page.request.post(f"/thu-muc/{junk.id}/doi-ten", form={"csrf": csrf, "ten": "Rác"})
    assert answer.status == 400
    assert "Không thể đổi tên thư mục hệ thống «Thư rác»" in answer.text()
    assert page.request.post(f"/thu-muc/{junk.id}/xoa", form={"csrf": "sai"}).status == 400
    mail = imapserver.services.store.mail
    assert imapserver.run(mail.mailbox(imapserver.account_id("nvminh"), "Junk")) is not None


def test_empty_trash(imapserver: RunningServer, page) -> None:
    for n in range(2):
        imapserver.deliver("nvminh", message(f"Thư cũ {n}"), mailbox="Trash")
    imapserver.deliver("nvminh", message("Thư còn giữ"))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    expect(page.get_by_text(re.compile("^Làm trống"))).to_have_count(0)  # not offered in the Inbox
    page.get_by_role("navigation", name="Thư mục").get_by_role("link", name="Thùng rác").first.click()
    expect(page.get_by_role("link", name="Thư cũ 1")).to_be_visible()
    page.get_by_text("Làm trống Thùng rác").click()
    page.get_by_role("button", name="Xóa vĩnh viễn").click()
    expect(page.get_by_text("Thư mục này chưa có thư.")).to_be_visible()
    imap = imapserver.login()
    assert imap.select("Trash")[1] == [b"0"]
    assert imap.select("INBOX")[1] == [b"1"]
    imap.logout()
    mail = imapserver.services.store.mail
    owner = imapserver.account_id("nvminh")
    (kept,) = imapserver.run(mail.messages(imapserver.run(mail.mailbox(owner, "INBOX")).id))
    assert imapserver.run(mail.usage(owner)) == (kept.size, 1)  # the space is given back at once (R5.1)


def test_export_mbox_and_zip(imapserver: RunningServer, page) -> None:
    letters = [
        message("Công văn số 1", "From the office: hello.\r\n>From quoted already."),
        message("Công văn số 2", "Kính gửi."),
        with_file("Ke hoach co tep"),
    ]
    for data in letters:
        imapserver.deliver("nvminh", data)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Công văn số 2").click()  # read: its Status says so
    page.go_back()
    with page.expect_download() as download:
        page.get_by_role("button", name="tệp mbox").click()
    assert download.value.suggested_filename == "Hộp thư đến.mbox"
    box = mailbox.mbox(download.value.path(), create=False)
    found = list(box)
    assert len(found) == 3  # a body line starting "From " did not split a message
    subjects = [str(email.header.make_header(email.header.decode_header(m["Subject"]))) for m in found]
    assert subjects == ["Công văn số 1", "Công văn số 2", "Ke hoach co tep"]
    first = found[0].get_payload(decode=True)
    assert b">From the office" in first and b">>From quoted already." in first
    assert "R" in found[1].get_flags() and "R" not in found[0].get_flags()
    box.close()

    with page.expect_download() as download:
        page.get_by_role("button", name="tệp zip (.eml)").click()
    assert download.value.suggested_filename == "Hộp thư đến.zip"
    with zipfile.ZipFile(Path(download.value.path())) as archive:
        names = archive.namelist()
        assert names == ["00001 Công văn số 1.eml", "00002 Công văn số 2.eml", "00003 Ke hoach co tep.eml"]
        assert [archive.read(name) for name in names] == [canonical(data) for data in letters]


def make_helpdesk(imapserver: RunningServer) -> int:
    """The city's helpdesk mailbox `hotro`, which test directories do not have."""
    services = imapserver.services

    async def create() -> int:
        async with services.store.db.write() as conn:
            agency_id = (await conn.execute(sa.select(agency.c.id).limit(1))).scalar_one()
            account_id, _ = await create_account(
                services.directory.ctx,
                conn,
                local="hotro",
                kind="agency",
                display_name="Hỗ trợ",
                agency_id=agency_id,
                actor="test",
            )
        return account_id

    return imapserver.run(create())


PHISHING = message(
    "Tài khoản của bạn sắp bị khóa",
    "Bấm vào đây để xác minh mật khẩu: http://cantho-gov.example/login",
    sender="it-support@cantho-gov.example",
)


def test_report_spam(imapserver: RunningServer, page) -> None:
    helpdesk = make_helpdesk(imapserver)
    imapserver.deliver("nvminh", PHISHING)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Tài khoản của bạn sắp bị khóa").click()
    page.get_by_role("button", name="Báo cáo thư rác / lừa đảo").click()
    expect(page.get_by_role("status").first).to_contain_text("vào Thư rác")
    expect(page.get_by_text("Đã gửi báo cáo kèm thư gốc đến hotro@cantho.gov.vn")).to_be_visible()
    imap = imapserver.login()
    assert imap.select("INBOX")[1] == [b"0"]
    assert imap.select("Junk")[1] == [b"1"]
    imap.logout()

    mail = imapserver.services.store.mail
    inbox = imapserver.run(mail.mailbox(helpdesk, "INBOX"))
    (summary,) = imapserver.run(mail.messages(inbox.id))
    assert summary.subject == "Báo cáo thư rác / lừa đảo: Tài khoản của bạn sắp bị khóa"
    data = imapserver.run(mail.message_bytes(inbox.id, summary.uid))
    assert canonical(PHISHING) in data  # the original, byte for byte
    report = email.message_from_bytes(data, policy=email.policy.default)
    assert "nvminh@cantho.gov.vn" in report["From"]
    (attached,) = list(report.iter_attachments())
    assert attached.get_content_type() == "message/rfc822"
    assert attached.get_content()["Subject"] == "Tài khoản của bạn sắp bị khóa"
    assert "báo cáo thư dưới đây" in report.get_body(("plain",)).get_content()


def test_report_without_helpdesk_still_moves_to_junk(imapserver: RunningServer, page) -> None:
    imapserver.deliver("nvminh", PHISHING)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Tài khoản của bạn sắp bị khóa").click()
    page.get_by_role("button", name="Báo cáo thư rác / lừa đảo").click()
    expect(page.get_by_role("alert")).to_contain_text("Chưa gửi được báo cáo")
    expect(page.get_by_role("alert")).to_contain_text("hotro@cantho.gov.vn")
    imap = imapserver.login()
    assert imap.select("Junk")[1] == [b"1"]
    assert imap.select("INBOX")[1] == [b"0"]
    imap.logout()
    queued = sa.select(sa.func.count()).select_from(queue_item)
    assert imapserver.run(imapserver.services.store.db.first(queued))[0] == 0  # nothing left for outside
