"""Writing mail in a real browser: sending to a colleague who sees it arrive, the copy in Sent,
reply and forward with their files, the attachment limit (R5.1) in the page and on the server, drafts
saved as the person types, and names from the city directory typed without diacritics."""

from __future__ import annotations

import base64
import contextlib
import email
import email.policy
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from hopthu.mail.compose import forward_subject, reply_subject
from hopthu.mail.recipients import parse_addresses
from hopthu.policy import sending
from hopthu.web.compose import MAX_ADDRESS_FIELD
from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in
from tests.web.test_reading import PDF, html_letter


@contextlib.contextmanager
def signed_in(browser, site: str, login: str) -> Iterator:
    """Another person in a browser context of their own, on their inbox."""
    context = browser.new_context(base_url=site, locale="vi-VN")
    try:
        other = context.new_page()
        other.set_default_timeout(15_000)
        sign_in(other, login)
        other.wait_for_url("**/thu/*")
        yield other
    finally:
        context.close()


def stored(imapserver: RunningServer, login: str, mailbox: str) -> list[bytes]:
    """Every message of one of `login`'s folders, as IMAP gives it."""
    imap = imapserver.login(login)
    try:
        count = int(imap.select(mailbox)[1][0])
        return [imap.fetch(str(n), "(BODY.PEEK[])")[1][0][1] for n in range(1, count + 1)]
    finally:
        imap.logout()


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def cookies_of(page) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies()}


def compose(page) -> None:
    page.get_by_role("link", name="Soạn thư").click()
    expect(page.get_by_role("heading", name="Soạn thư")).to_be_visible()
    # The heading can show before compose.js has run on a loaded machine: typing then goes
    # unheard by the address lists and the file checks.
    page.wait_for_load_state("load")


def test_subjects_and_addresses() -> None:
    assert reply_subject("Công văn 12") == "Re: Công văn 12"
    assert reply_subject("RE: Công văn 12") == "RE: Công văn 12"  # never "Re: RE: ..."
    assert reply_subject("Trả lời: Công văn") == "Trả lời: Công văn"
    assert forward_subject("Thông báo") == "Fwd: Thông báo"
    assert forward_subject("Fw: Thông báo") == "Fw: Thông báo"
    assert forward_subject("Re: Thông báo") == "Fwd: Re: Thông báo"
    found, bad = parse_addresses(
        'Nguyễn Văn Minh <nvminh@cantho.gov.vn>, "Trần, Ánh" <ttnanh@cantho.gov.vn>; ban@example.org, '
        "không hợp lệ, a@b"
    )
    assert found == [
        ("Nguyễn Văn Minh", "nvminh@cantho.gov.vn"),
        ("Trần, Ánh", "ttnanh@cantho.gov.vn"),
        ("", "ban@example.org"),
    ]
    assert bad == ["không hợp lệ", "a@b"]


def test_address_fields_are_read_by_the_strict_reader() -> None:
    found, bad = parse_addresses(
        '"giamdoc@cantho.gov.vn" <ban@example.org>; Ban (tiếp dân) <ban@example.org>, '
        'ban@example.org <giamdoc@cantho.gov.vn>, "x y"@example.org, Nhóm: a@b.example, '
        "<a@b.example, c@d.example"
    )
    assert found == [("Ban (tiếp dân)", "ban@example.org")]  # a comment typed in the name stays in it
    assert bad == [
        '"giamdoc@cantho.gov.vn" <ban@example.org>',  # a name that shows another address
        "ban@example.org <giamdoc@cantho.gov.vn>",
        '"x y"@example.org',
        "Nhóm: a@b.example",
        "<a@b.example, c@d.example",  # an unclosed bracket takes the rest of the field
    ]
    # Past the bound the field is one bad piece, read no further (the old regex took 8 s on 32 KB).
    started = time.monotonic()
    found, bad = parse_addresses("a" + " " * MAX_ADDRESS_FIELD + "b")
    assert (found, len(bad)) == ([], 1) and time.monotonic() - started < 1


def test_sending_to_a_colleague(imapserver: RunningServer, page, browser, site: str) -> None:
    with signed_in(browser, site, "ttnanh") as colleague:
        sign_in(page, "nvminh")
        page.wait_for_url("**/thu/*")
        compose(page)
        page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
        page.get_by_label("Bcc", exact=True).fill("sonv@cantho.gov.vn")
        page.get_by_label("Tiêu đề").fill("Họp giao ban tuần")
        page.get_by_label("Nội dung").fill("Kính gửi chị Ánh,\nMời chị dự họp lúc 8 giờ.")
        page.get_by_role("button", name="Gửi", exact=True).click()
        expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
        # She sees it arrive without reloading the page herself.
        expect(colleague.get_by_role("link", name="Họp giao ban tuần")).to_be_visible(timeout=5_000)
    page.get_by_role("link", name="Đã gửi").first.click()
    expect(page.get_by_role("link", name="Họp giao ban tuần")).to_be_visible()

    (received,) = stored(imapserver, "ttnanh", "INBOX")
    letter = parsed(received)
    assert letter["Subject"] == "Họp giao ban tuần"
    assert letter["From"].addresses[0].display_name == "Nguyễn Văn Minh (Sở Nội vụ)"  # as the directory
    assert re.fullmatch(r"<[^@]+@cantho\.gov\.vn>", letter["Message-ID"])
    assert letter["Date"].endswith("+0700")
    assert letter.get_content_type() == "text/plain" and letter.get_content_charset() == "utf-8"
    assert (
        letter.get_content().replace("\r\n", "\n").rstrip("\n")
        == "Kính gửi chị Ánh,\nMời chị dự họp lúc 8 giờ."
    )
    assert "Bcc" not in letter and b"=?utf-8?" in received  # headers in RFC 2047, never raw 8-bit
    (copy,) = stored(imapserver, "nvminh", "Sent")
    assert parsed(copy)["Bcc"] == "sonv@cantho.gov.vn"  # the sender's copy remembers the Bcc
    assert parsed(copy)["Message-ID"] == letter["Message-ID"]
    sonv = imapserver.account_id("sonv")
    inbox = imapserver.run(imapserver.services.store.mail.mailbox(sonv, "INBOX"))
    assert inbox.message_count == 1


def test_reply_with_a_file(imapserver: RunningServer, page, browser, site: str, tmp_path: Path) -> None:
    imapserver.deliver(
        "ttnanh",
        message(
            "Xin số liệu quý I",
            "Chị gửi giúp em số liệu.",
            sender="nvminh@cantho.gov.vn",
            to="ttnanh@cantho.gov.vn",
        ),
    )
    original_id = parsed(stored(imapserver, "ttnanh", "INBOX")[0])["Message-ID"]
    table = tmp_path / "số-liệu quý 1.csv"
    table.write_bytes("Đơn vị;Số hồ sơ\nPhường Ninh Kiều;42\n".encode() + bytes(range(256)))
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Xin số liệu quý I").click()
    page.get_by_role("link", name="Trả lời", exact=True).click()
    expect(page.get_by_label("Đến")).to_have_value("nvminh@cantho.gov.vn")
    expect(page.get_by_label("Tiêu đề")).to_have_value("Re: Xin số liệu quý I")
    body = page.get_by_label("Nội dung")  # the editor: the original in a quote
    expect(body).to_contain_text(
        re.compile(r"Vào lúc \d\d:\d\d ngày 02/03/2026, nvminh@cantho.gov.vn đã viết:")
    )
    expect(body.locator("blockquote")).to_have_text("Chị gửi giúp em số liệu.")
    body.press("Control+Home")
    body.press_sequentially("Em gửi anh số liệu.")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(table)
    expect(page.locator("#files-total")).to_contain_text("Tổng dung lượng tệp đính kèm")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()

    with signed_in(browser, site, "nvminh") as minh:
        minh.get_by_role("link", name="Re: Xin số liệu quý I").click()
        with minh.expect_download() as download:
            minh.get_by_role("link", name="số-liệu quý 1.csv").click()
        assert Path(download.value.path()).read_bytes() == table.read_bytes()
    (answer,) = stored(imapserver, "nvminh", "INBOX")
    assert parsed(answer)["In-Reply-To"] == original_id
    assert parsed(answer)["References"] == original_id
    assert parsed(answer).get_body(("plain",)).get_content().startswith("Em gửi anh số liệu.")
    imap = imapserver.login("ttnanh")
    imap.select("INBOX")
    assert b"\\Answered" in imap.fetch("1", "FLAGS")[1][0]
    imap.logout()


def test_reply_all_leaves_oneself_out(imapserver: RunningServer, page) -> None:
    imapserver.deliver(
        "nvminh",
        message(
            "Re: Lịch họp",
            sender="ban@example.org",
            to="nvminh@cantho.gov.vn, Văn thư <vanthu@example.org>",
            extra="Cc: ttnanh@cantho.gov.vn\r\n",
        ),
    )
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Re: Lịch họp").click()
    page.get_by_role("link", name="Trả lời tất cả").click()
    expect(page.get_by_label("Đến")).to_have_value("ban@example.org")
    expect(page.get_by_label("Cc", exact=True)).to_have_value(
        "Văn thư <vanthu@example.org>, ttnanh@cantho.gov.vn"
    )
    expect(page.get_by_label("Tiêu đề")).to_have_value("Re: Lịch họp")  # not "Re: Re: ..."


def test_reply_writes_the_name_as_people_read_it(imapserver: RunningServer, page) -> None:
    """Neither the quotes of the header nor those an encoded word hides: a name the To field reads
    back as it is, and the reply reaches the person under that name."""
    minh = "Nguyễn Văn Minh (Sở Nội vụ)"
    inner_quotes = base64.b64encode(f'"{minh}"'.encode()).decode()
    for subject, sender in [
        ("Tờ trình số 5", f"=?utf-8?b?{inner_quotes}?= <nvminh@cantho.gov.vn>"),
        ("Tờ trình số 6", f'"{minh}" <nvminh@cantho.gov.vn>'),
    ]:
        imapserver.deliver("ttnanh", message(subject, sender=sender, to="ttnanh@cantho.gov.vn"))
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    for subject in ["Tờ trình số 5", "Tờ trình số 6"]:
        page.goto("/thu")
        page.get_by_role("link", name=subject).click()
        page.get_by_role("link", name="Trả lời", exact=True).click()
        expect(page.get_by_label("Đến")).to_have_value(f"{minh} <nvminh@cantho.gov.vn>")
    page.get_by_label("Nội dung").fill("Em đã nhận.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    (answer,) = stored(imapserver, "nvminh", "INBOX")
    to = parsed(answer)["To"].addresses
    assert [(a.display_name, a.addr_spec) for a in to] == [(minh, "nvminh@cantho.gov.vn")]
    assert parsed(answer)["Subject"] == "Re: Tờ trình số 6"


def test_forward_keeps_the_files(imapserver: RunningServer, page, browser, site: str) -> None:
    imapserver.deliver("nvminh", html_letter())
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_role("link", name="Thông báo họp").click()
    page.get_by_role("link", name="Chuyển tiếp").click()
    expect(page.get_by_label("Tiêu đề")).to_have_value("Fwd: Thông báo họp")
    expect(page.get_by_label("Nội dung").locator("blockquote")).to_contain_text("Thư chuyển tiếp")
    expect(page.get_by_label("Nội dung").locator("blockquote")).to_contain_text("Kính gửi các phòng.")
    expect(page.get_by_role("checkbox", name="bao-cao.pdf")).to_be_checked()
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()

    with signed_in(browser, site, "ttnanh") as colleague:
        colleague.get_by_role("link", name="Fwd: Thông báo họp").click()
        expect(colleague.frame_locator("#body-frame").locator("body")).to_contain_text("Thư chuyển tiếp")
        with colleague.expect_download() as download:
            colleague.get_by_role("link", name="bao-cao.pdf", exact=True).click()
        assert Path(download.value.path()).read_bytes() == PDF


def test_attachment_limit_in_the_page_and_on_the_server(
    imapserver: RunningServer, page, site: str, tmp_path: Path
) -> None:
    limit = imapserver.server.settings.policy.attachment_max
    halves = []
    for name in ("phần-1.bin", "phần-2.bin"):
        path = tmp_path / name
        path.write_bytes(b"\x01" * (limit // 2 + 512 * 1024))
        halves.append(path)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    posted: list[str] = []
    page.on("request", lambda request: posted.append(request.url) if request.method == "POST" else None)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Hồ sơ quá lớn")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(halves)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(
        "Tổng dung lượng tệp đính kèm (21 MB) vượt quá mức tối đa 20 MB cho mỗi thư"
    )
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(alert).to_be_visible()
    assert page.url.endswith("/soan-thu") and not [url for url in posted if url.endswith("/soan-thu")]

    # The server refuses it too, for a client without the page's script.
    form = {
        "csrf": page.locator("#compose input[name=csrf]").input_value(),
        "from": "nvminh@cantho.gov.vn",
        "to": "ttnanh@cantho.gov.vn",
        "subject": "Hồ sơ quá lớn",
        "body": "Gửi kèm hồ sơ.",
    }
    with halves[0].open("rb") as one, halves[1].open("rb") as two:
        answer = httpx.post(
            f"{site}/soan-thu",
            data=form,
            files=[("files", (halves[0].name, one)), ("files", (halves[1].name, two))],
            cookies=cookies_of(page),
            timeout=60,
        )
    assert answer.status_code == 413
    assert "vượt quá mức tối đa 20 MB cho mỗi thư" in answer.text and 'role="alert"' in answer.text
    assert stored(imapserver, "ttnanh", "INBOX") == []
    assert stored(imapserver, "nvminh", "Sent") == []


def test_draft_saved_as_one_types_and_reopened(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Dự thảo kế hoạch")
    page.get_by_label("Nội dung").fill("Bản dự thảo lần 1")
    status = page.locator("#draft-status")
    expect(status).to_contain_text("Đã lưu nháp lúc", timeout=20_000)
    first = status.inner_text()
    page.get_by_label("Nội dung").fill("Bản dự thảo lần 2\nCó hai dòng.")
    expect(status).not_to_have_text(first, timeout=20_000)
    (draft,) = stored(imapserver, "nvminh", "Drafts")  # the new version replaced the old one
    assert parsed(draft).get_content().replace("\r\n", "\n").rstrip("\n") == "Bản dự thảo lần 2\nCó hai dòng."

    page.get_by_role("link", name="Thư nháp").first.click()
    expect(page.get_by_role("link", name="Dự thảo kế hoạch")).to_have_count(1)
    page.get_by_role("link", name="Dự thảo kế hoạch").click()
    expect(page.get_by_role("heading", name="Soạn thư")).to_be_visible()
    expect(page.get_by_label("Đến")).to_have_value("ttnanh@cantho.gov.vn")
    expect(page.get_by_label("Tiêu đề")).to_have_value("Dự thảo kế hoạch")
    expect(page.get_by_label("Nội dung").locator("div")).to_have_text(["Bản dự thảo lần 2", "Có hai dòng."])
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    assert stored(imapserver, "nvminh", "Drafts") == []  # sent: the draft is gone
    assert len(stored(imapserver, "ttnanh", "INBOX")) == 1


def test_save_button_keeps_the_chosen_files(imapserver: RunningServer, page, tmp_path: Path) -> None:
    report = tmp_path / "báo cáo.pdf"
    report.write_bytes(PDF)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Báo cáo tháng")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(report)
    page.get_by_role("button", name="Lưu nháp").click()
    expect(page.get_by_role("status").filter(has_text="Đã lưu thư nháp")).to_be_visible()
    expect(page.get_by_role("checkbox", name="báo cáo.pdf")).to_be_checked()  # kept in the draft now
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    (file,) = list(parsed(received).iter_attachments())
    assert file.get_filename() == "báo cáo.pdf" and file.get_content() == PDF
    assert stored(imapserver, "nvminh", "Drafts") == []


def test_addresses_from_the_directory(imapserver: RunningServer, page, site: str) -> None:
    sign_in(page, "ttnanh")
    page.wait_for_url("**/thu/*")
    compose(page)
    to = page.get_by_label("Đến")
    to.press_sequentially("nguyen")
    option = page.get_by_role("option", name=re.compile("Nguyễn Văn Minh"))
    expect(option).to_be_visible()
    option.click()
    expect(to).to_have_value("Nguyễn Văn Minh (Sở Nội vụ) <nvminh@cantho.gov.vn>, ")  # bare: it reads back
    cc = page.get_by_label("Cc", exact=True)
    cc.press_sequentially("noi vu")
    expect(page.get_by_role("option", name=re.compile("Sở Nội vụ <sonv@cantho.gov.vn>"))).to_be_visible()
    cc.press("ArrowDown")
    cc.press("Enter")  # chooses, and does not send
    expect(cc).to_have_value("Sở Nội vụ <sonv@cantho.gov.vn>, ")
    answer = httpx.get(f"{site}/soan-thu/danh-ba", params={"q": "TRAN thi ngoc"}, cookies=cookies_of(page))
    assert [p["address"] for p in answer.json()] == ["ttnanh@cantho.gov.vn"]
    by_address = httpx.get(f"{site}/soan-thu/danh-ba", params={"q": "nvm"}, cookies=cookies_of(page))
    assert by_address.json()[0]["name"] == "Nguyễn Văn Minh (Sở Nội vụ)"


@pytest.mark.parametrize("typed", ["không phải địa chỉ, ai.do@cantho.gov.vn"])
def test_wrong_addresses_are_explained(imapserver: RunningServer, page, typed: str) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill(typed)
    page.get_by_label("Tiêu đề").fill("Thư thử")
    page.get_by_role("button", name="Gửi", exact=True).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("“không phải địa chỉ” không phải là địa chỉ thư hợp lệ")
    expect(alert).to_contain_text("Không có hộp thư ai.do@cantho.gov.vn")
    expect(page.get_by_label("Tiêu đề")).to_have_value("Thư thử")  # nothing written is lost
    expect(page.get_by_label("Đến")).to_have_value(typed)


def test_sending_as_the_delegated_agency_mailbox(imapserver: RunningServer, page) -> None:
    """R8.2, R8.3: a delegate sends as the agency mailbox; the message names who really sent it."""
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Từ", exact=True).select_option("sonv@cantho.gov.vn")
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Thông báo của Sở")
    page.get_by_label("Nội dung").fill("Sở Nội vụ thông báo.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    letter = parsed(received)
    assert letter["From"].addresses[0].addr_spec == "sonv@cantho.gov.vn"
    assert letter["Sender"].addresses[0].addr_spec == "nvminh@cantho.gov.vn"  # R8.3: the real sender


def test_sending_limits_in_the_webmail(imapserver: RunningServer, page) -> None:
    """R3.1: the webmail's recipients are counted as submission's and judged by `policy.sending`."""
    assert imapserver.services.limits is not None
    imapserver.services.limits.limits = sending.Limits(per_hour=1, per_day=5, hard_per_day=100)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn, sonv@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Hai người nhận")
    page.get_by_label("Nội dung").fill("Một giờ chỉ một người nhận.")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_text("tối đa 1 mỗi giờ, 5 mỗi ngày")).to_be_visible()
    assert stored(imapserver, "ttnanh", "INBOX") == []


@pytest.mark.parametrize("kind", ["pdf", "docx", "xlsx", "odt"])
def test_stamped_attachment_refused_in_the_webmail(
    imapserver: RunningServer, page, site: str, tmp_path: Path, kind: str
) -> None:
    """R8.1: a document stamped MẬT is not sent from the webmail; the same without the stamp is."""
    from tests.protection.files import docx_with, odt_with, pdf_with, xlsx_with

    make = {"pdf": pdf_with, "docx": docx_with, "xlsx": xlsx_with, "odt": odt_with}[kind]
    stamped = tmp_path / f"ke-hoach.{kind}"
    stamped.write_bytes(make("SỞ NỘI VỤ", "TỐI MẬT", "Kế hoạch năm 2026"))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Kế hoạch")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(stamped)
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.locator("#compose-errors")).to_contain_text(
        f"“TỐI MẬT” (tệp đính kèm ke-hoach.{kind}, dòng 2)"
    )
    assert stored(imapserver, "ttnanh", "INBOX") == []
    assert stored(imapserver, "nvminh", "Drafts") == []  # a refused letter is not a draft

    plain = tmp_path / f"ke-hoach-2.{kind}"
    plain.write_bytes(make("SỞ NỘI VỤ", "Bảo mật thông tin", "Kế hoạch năm 2026"))
    page.get_by_role("button", name=f"Bỏ tệp ke-hoach.{kind}").click()  # still on the page
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(plain)
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    [sent] = stored(imapserver, "ttnanh", "INBOX")
    assert f"ke-hoach-2.{kind}".encode() in sent and f'ke-hoach.{kind}"'.encode() not in sent


def test_a_dangerous_or_stamped_file_is_named_as_soon_as_it_is_chosen(
    imapserver: RunningServer, page, site: str, tmp_path: Path
) -> None:
    """R13.2 and R8.1 said on choosing the file, before anything is sent; a plain file clears it."""
    from tests.protection.files import docx_with

    program = tmp_path / "hoso.pdf.exe"
    program.write_bytes(b"MZ" + b"\0" * 200)
    stamped = tmp_path / "ke-hoach.docx"
    stamped.write_bytes(docx_with("SỞ NỘI VỤ", "TỐI MẬT", "Kế hoạch năm 2026"))
    plain = tmp_path / "ke-hoach-2.docx"
    plain.write_bytes(docx_with("SỞ NỘI VỤ", "Bảo mật thông tin", "Kế hoạch năm 2026"))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    refused = page.locator("#files-refused")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files([program, stamped])
    expect(refused).to_contain_text("hoso.pdf.exe (loại tệp nguy hiểm)")
    expect(refused).to_contain_text("Tệp ke-hoach.docx có dấu độ mật “TỐI MẬT” (dòng 2)")
    expect(page.get_by_role("alert")).to_have_count(1)
    # Chosen files add up; removing the two named clears what was said of them.
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(plain)
    page.get_by_role("button", name="Bỏ tệp hoso.pdf.exe").click()
    expect(refused).not_to_contain_text("hoso.pdf.exe")
    expect(refused).to_contain_text("ke-hoach.docx")
    page.get_by_role("button", name="Bỏ tệp ke-hoach.docx").click()
    expect(refused).to_be_hidden()

    # The same answer in English, for the script of a page in English.
    answer = httpx.post(
        f"{site}/soan-thu/kiem-tra-tep",
        data={"csrf": page.locator("#compose input[name=csrf]").input_value()},
        files={"file": (stamped.name, stamped.read_bytes())},
        cookies=cookies_of(page),
        timeout=30,
    )
    (problem,) = answer.json()["problems"]
    assert answer.status_code == 200 and "carries the secrecy marking “TỐI MẬT” (line 2)" in problem["en"]
    forged = httpx.post(
        f"{site}/soan-thu/kiem-tra-tep",
        data={"csrf": "sai"},
        files={"file": (program.name, program.read_bytes())},
        cookies=cookies_of(page),
        timeout=30,
    )
    assert forged.status_code == 403 and forged.json() == {"problems": []}


# --- attachments as chips, the send bar in view, a refused send kept on the page ---------------------


def attachments_of(data: bytes) -> dict[str | None, object]:
    """The files of a delivered message, by name, as bytes."""
    return {part.get_filename(): part.get_payload(decode=True) for part in parsed(data).iter_attachments()}


def test_chosen_files_as_chips_one_removed(imapserver: RunningServer, page, tmp_path: Path) -> None:
    report = tmp_path / "báo cáo.pdf"
    report.write_bytes(PDF)
    table = tmp_path / "bảng số liệu.csv"
    table.write_bytes(b"9;" * (6 * 1024 * 1024 // 10))  # 1.2 MiB
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Số liệu quý")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files([report, table])
    chips = page.get_by_role("list", name="Tệp đã chọn").get_by_role("listitem")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_contain_text("báo cáo.pdf")
    expect(chips.nth(0)).to_contain_text("10 KB")
    expect(chips.nth(1)).to_contain_text("bảng số liệu.csv")
    expect(chips.nth(1)).to_contain_text("1,2 MB")
    page.get_by_role("button", name="Bỏ tệp báo cáo.pdf").click()
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("bảng số liệu.csv")
    expect(page.get_by_role("button", name="Bỏ tệp bảng số liệu.csv")).to_be_focused()
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    assert attachments_of(received) == {"bảng số liệu.csv": table.read_bytes()}

    # In English: the decimal point, and the button's name.
    page.goto("/soan-thu?lang=en")
    page.wait_for_load_state("load")
    page.get_by_label("Choose files to attach").set_input_files(table)
    expect(page.get_by_role("list", name="Chosen files")).to_contain_text("1.2 MB")
    expect(page.get_by_role("button", name="Remove bảng số liệu.csv")).to_be_visible()


DROP = """([kind, name, text]) => {
    const files = new DataTransfer();
    files.items.add(new File([text], name, { type: "text/plain" }));
    const body = document.getElementById("body");
    if (kind === "paste") {
        return body.dispatchEvent(
            new ClipboardEvent("paste", { clipboardData: files, bubbles: true, cancelable: true }));
    }
    const init = { dataTransfer: files, bubbles: true, cancelable: true };
    body.dispatchEvent(new DragEvent("dragover", init));
    return body.dispatchEvent(new DragEvent("drop", init));
}"""


def test_files_dropped_or_pasted_become_chips(imapserver: RunningServer, page, tmp_path: Path) -> None:
    report = tmp_path / "báo cáo.pdf"
    report.write_bytes(PDF)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Tệp kéo thả")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(report)
    # The browser's default (opening the file in place of the letter) is prevented.
    assert page.evaluate(DROP, ["drop", "kéo-thả.txt", "Thả vào thư"]) is False
    assert page.evaluate(DROP, ["paste", "dán.txt", "Dán vào thư"]) is False
    chips = page.get_by_role("list", name="Tệp đã chọn").get_by_role("listitem")
    expect(chips).to_have_count(3)
    expect(page.get_by_role("button", name="Bỏ tệp kéo-thả.txt")).to_be_visible()
    expect(page.get_by_role("button", name="Bỏ tệp dán.txt")).to_be_visible()

    # A file larger than the whole limit is named at once and left out.
    limit = imapserver.server.settings.policy.attachment_max
    page.evaluate(
        """(size) => {
            const files = new DataTransfer();
            files.items.add(new File([new Uint8Array(size)], "quá-lớn.bin"));
            document.getElementById("body").dispatchEvent(
                new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
        }""",
        limit + 1,
    )
    expect(page.get_by_role("alert")).to_contain_text(
        "Tệp “quá-lớn.bin” (20 MB) lớn hơn mức tối đa 20 MB cho mỗi thư nên chưa được đính kèm"
    )
    expect(chips).to_have_count(3)
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    assert attachments_of(received) == {
        "báo cáo.pdf": PDF,
        "kéo-thả.txt": "Thả vào thư".encode(),
        "dán.txt": "Dán vào thư".encode(),
    }


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_the_send_button_stays_in_view(imapserver: RunningServer, page, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    send = page.get_by_role("button", name="Gửi", exact=True)

    def in_view() -> None:
        box = send.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, box

    in_view()  # as the page opens
    body = page.get_by_label("Nội dung")
    body.fill("\n".join(f"Dòng {n}: nội dung báo cáo tuần của phòng." for n in range(400)))
    body.press("Control+End")
    in_view()
    page.mouse.wheel(0, 5000)
    in_view()
    page.get_by_label("Tiêu đề").focus()
    in_view()


def test_a_refused_send_stays_on_the_page_and_makes_no_draft(
    imapserver: RunningServer, page, site: str, tmp_path: Path
) -> None:
    report = tmp_path / "báo cáo.pdf"
    report.write_bytes(PDF)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Cc", exact=True).fill("ai.do@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Kế hoạch tháng 12")
    page.get_by_label("Nội dung").fill("Kính gửi chị Ánh,\nGửi chị kế hoạch.")
    page.get_by_label("Chọn tệp để đính kèm").set_input_files(report)
    page.get_by_role("button", name="Gửi", exact=True).click()
    alert = page.locator("#compose-errors")
    expect(alert).to_contain_text("Thư chưa được gửi")
    expect(alert).to_contain_text("Không có hộp thư ai.do@cantho.gov.vn")
    expect(alert).to_be_focused()
    assert page.url.endswith("/soan-thu")
    expect(page.get_by_label("Đến")).to_have_value("ttnanh@cantho.gov.vn")
    expect(page.get_by_label("Cc", exact=True)).to_have_value("ai.do@cantho.gov.vn")
    expect(page.get_by_label("Tiêu đề")).to_have_value("Kế hoạch tháng 12")
    expect(page.get_by_label("Nội dung").locator("div")).to_have_text(
        ["Kính gửi chị Ánh,", "Gửi chị kế hoạch."]
    )
    expect(page.get_by_role("button", name="Bỏ tệp báo cáo.pdf")).to_be_visible()  # the file too
    assert stored(imapserver, "nvminh", "Drafts") == []
    assert stored(imapserver, "ttnanh", "INBOX") == []

    # Put right, the same letter goes, with its file, and still leaves no draft behind.
    page.get_by_label("Cc", exact=True).fill("")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    assert attachments_of(received) == {"báo cáo.pdf": PDF}
    assert stored(imapserver, "nvminh", "Drafts") == []

    # Without the page's script: the letter comes back written, the files to choose again are named.
    form = {
        "csrf": page.locator("input[name=csrf]").first.input_value(),
        "from": "nvminh@cantho.gov.vn",
        "to": "không phải địa chỉ",
        "subject": "Thư thử",
        "body": "Nội dung thử",
    }
    answer = httpx.post(
        f"{site}/soan-thu",
        data=form,
        files=[("files", (report.name, PDF, "application/pdf"))],
        cookies=cookies_of(page),
        timeout=30,
    )
    assert answer.status_code == 400 and 'role="alert"' in answer.text
    assert "“không phải địa chỉ” không phải là địa chỉ thư hợp lệ" in answer.text
    assert "hãy chọn lại “báo cáo.pdf”" in answer.text
    assert 'value="Thư thử"' in answer.text and "Nội dung thử</textarea>" in answer.text
    in_english = httpx.post(
        f"{site}/soan-thu?lang=en",
        data={**form, "to": "ai.do@cantho.gov.vn"},
        headers={"Accept": "application/json"},
        cookies=cookies_of(page),
        timeout=30,
    )
    assert in_english.status_code == 400
    assert in_english.json()["errors"] == [
        "There is no mailbox ai.do@cantho.gov.vn in the city's e-mail system."
    ]
    assert stored(imapserver, "nvminh", "Drafts") == []
