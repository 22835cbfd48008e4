"""The message list in a real browser: folders with unread counts, live arrival of new mail, and the
actions on chosen messages going through the same store as IMAP."""

from __future__ import annotations

import datetime as dt
import imaplib

import pytest
from playwright.sync_api import expect

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in

# Search, conversations and sorting are queries that differ by backend: in the browser on both.
pytestmark = pytest.mark.both_backends


def test_folders_list_and_live_arrival(imapserver: RunningServer, page) -> None:
    imapserver.deliver("nvminh", message("Công văn số 1", "Kính gửi."))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    folders = page.get_by_role("navigation", name="Thư mục")
    names = [text.split("\n")[0] for text in folders.locator("ul a").all_inner_texts()]
    assert names[:6] == ["Hộp thư đến", "Thư nháp", "Đã gửi", "Lưu trữ", "Thư rác", "Thùng rác"]
    inbox = folders.get_by_role("link", name="Hộp thư đến").first  # nvminh also sees the agency's
    expect(inbox).to_contain_text("1")  # one unread
    expect(page.get_by_role("link", name="Công văn số 1")).to_be_visible()
    imapserver.deliver("nvminh", message("Giấy mời họp khẩn", "Mời dự họp."))
    expect(page.get_by_role("link", name="Giấy mời họp khẩn")).to_be_visible(
        timeout=5_000
    )  # no reload by hand
    expect(inbox).to_contain_text("2")


def test_actions_on_chosen_messages(imapserver: RunningServer, page) -> None:
    for n in range(3):
        imapserver.deliver("nvminh", message(f"Thư thứ {n}"))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.get_by_label("Chọn thư: Thư thứ 0").check()
    page.get_by_label("Chọn thư: Thư thứ 1").check()
    page.get_by_role("button", name="Đã đọc", exact=True).click()
    expect(page.locator("tr.unread")).to_have_count(1)
    page.get_by_label("Chọn thư: Thư thứ 2").check()
    page.get_by_role("button", name="Xóa", exact=True).click()
    expect(page.get_by_role("link", name="Thư thứ 2")).to_have_count(0)
    page.get_by_role("link", name="Thùng rác").first.click()
    expect(page.get_by_role("link", name="Thư thứ 2")).to_be_visible()
    imap = imapserver.login()
    assert imap.select("Trash")[1] == [b"1"]  # the same store: IMAP sees the move
    imap.logout()


def test_sorting_the_list_by_its_column_headings(imapserver: RunningServer, page) -> None:
    for subject, sender in [
        ("Bảo cáo quý", "zo@example.org"),
        ("Ánh sáng", "an@example.org"),
        ("Công văn", "minh@example.org"),
    ]:
        imapserver.deliver("nvminh", message(subject, sender=sender))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    subjects = page.locator("table.messages tbody td:nth-child(3) a")
    expect(subjects).to_have_text(["Công văn", "Ánh sáng", "Bảo cáo quý"])  # newest first
    page.get_by_role("link", name="Tiêu đề").click()
    expect(subjects).to_have_text(["Ánh sáng", "Bảo cáo quý", "Công văn"])  # "Á" with "A"
    expect(page.get_by_role("columnheader", name="Tiêu đề")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name="Người gửi").click()
    expect(subjects).to_have_text(["Ánh sáng", "Công văn", "Bảo cáo quý"])
    page.get_by_role("link", name="Ngày").click()  # newest first again, then oldest first
    expect(subjects).to_have_text(["Công văn", "Ánh sáng", "Bảo cáo quý"])
    page.get_by_role("link", name="Ngày").click()
    expect(subjects).to_have_text(["Bảo cáo quý", "Ánh sáng", "Công văn"])
    page.get_by_label("Chọn thư: Công văn").check()  # an action keeps the order chosen
    page.get_by_role("button", name="Gắn cờ", exact=True).click()
    expect(page.locator("tr.flagged")).to_have_count(1)
    assert "sap=cu-nhat" in page.url


def appended(imapserver: RunningServer, mailbox: str, data: bytes, when: dt.datetime) -> None:
    """A message put in one of nvminh's folders by IMAP APPEND, received at `when`."""
    imap = imapserver.login()
    try:
        assert imap.append(mailbox, None, imaplib.Time2Internaldate(when), data)[0] == "OK"
    finally:
        imap.logout()


def test_mail_one_sent_is_listed_by_its_recipients(imapserver: RunningServer, page) -> None:
    everyone = (
        "Trần Thị Ngọc Ánh <ttnanh@cantho.gov.vn>, Sở Nội vụ <sonv@cantho.gov.vn>, "
        "ban@example.org, Văn thư <vanthu@example.org>"
    )
    mine = "Nguyễn Văn Minh <nvminh@cantho.gov.vn>"
    imapserver.deliver("nvminh", message("Báo cáo tuần", sender=mine, to=everyone), "Sent")
    imapserver.deliver("nvminh", message("Dự thảo công văn", sender=mine, to="ban@example.org"), "Drafts")
    filed = message("Bản lưu", sender=mine, to="Lê Văn Sơn <lvson@example.org>")
    imapserver.deliver("nvminh", filed, "Archive")
    imapserver.deliver("nvminh", message("Thư đến", sender="Phòng Tổ chức <ptc@example.org>"), "Archive")
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    folders = page.get_by_role("navigation", name="Thư mục")
    folders.get_by_role("link", name="Đã gửi").first.click()
    expect(page.get_by_role("columnheader", name="Người nhận")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Người gửi")).to_have_count(0)
    row = page.locator("table.messages tbody tr").filter(has_text="Báo cáo tuần")
    expect(row.locator("td.who")).to_have_text("Trần Thị Ngọc Ánh, Sở Nội vụ +2")
    assert "Nguyễn Văn Minh" not in row.inner_text()
    folders.get_by_role("link", name="Thư nháp").first.click()
    expect(page.get_by_role("columnheader", name="Người nhận")).to_be_visible()
    expect(page.locator("td.who")).to_have_text("ban@example.org")  # no name: the address
    folders.get_by_role("link", name="Lưu trữ").first.click()  # a folder of both kinds
    expect(page.get_by_role("columnheader", name="Người gửi")).to_be_visible()
    expect(page.locator("tr", has_text="Bản lưu").locator("td.who")).to_have_text("Đến: Lê Văn Sơn")
    expect(page.locator("tr", has_text="Thư đến").locator("td.who")).to_have_text("Phòng Tổ chức")
    page.goto(page.url + "?lang=en")
    expect(page.locator("tr", has_text="Bản lưu").locator("td.who")).to_have_text("To: Lê Văn Sơn")
    folders = page.get_by_role("navigation", name="Folders")
    folders.get_by_role("link", name="Sent").first.click()
    expect(page.get_by_role("columnheader", name="To", exact=True)).to_be_visible()


def test_list_dates_say_the_day_when_it_is_not_today(imapserver: RunningServer, page) -> None:
    """The time today, day and month this year, the full date before; the full moment as tooltip."""
    vietnam = dt.timezone(dt.timedelta(hours=7))
    now = dt.datetime.now(vietnam).replace(second=0, microsecond=0)
    this_year = dt.datetime(now.year, 2 if now.month == 1 else 1, 15, 9, 5, tzinfo=vietnam)
    last_year = dt.datetime(2025, 3, 2, 8, 30, tzinfo=vietnam)  # a Sunday
    for subject, when in [("Hôm nay", now), ("Năm nay", this_year), ("Năm ngoái", last_year)]:
        appended(imapserver, "INBOX", message(subject), when)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")

    def date_of(subject: str):
        return page.locator("tr", has_text=subject).locator("td.date time")

    expect(date_of("Hôm nay")).to_have_text(now.strftime("%H:%M"))
    expect(date_of("Năm nay")).to_have_text(this_year.strftime("%d/%m"))
    expect(date_of("Năm ngoái")).to_have_text("02/03/2025")
    expect(date_of("Năm ngoái")).to_have_attribute("title", "Chủ Nhật, 02/03/2025 08:30")
    page.goto(page.url + "?lang=en")
    expect(date_of("Năm nay")).to_have_text(f"15 {this_year:%b}")
    expect(date_of("Năm ngoái")).to_have_text("2 Mar 2025")
    expect(date_of("Năm ngoái")).to_have_attribute("title", "Sun, 2 Mar 2025 08:30")


def test_long_names_and_words_stay_in_their_columns(imapserver: RunningServer, page) -> None:
    """At 1280×800: a long sender keeps one line, a search result's long word stays in its column,
    and the unread count sits beside the folder's name, not over it."""
    page.set_viewport_size({"width": 1280, "height": 800})
    long_sender = (
        "Ban Quản lý dự án đầu tư xây dựng công trình giao thông và nông nghiệp thành phố Cần Thơ "
        "<banquanly.duan.giaothong@example.org>"
    )
    word = "congvan" + "x" * 160
    for n in range(12):
        imapserver.deliver("nvminh", message(f"Công văn {word} số {n}", sender=long_sender))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    cell = page.locator("table.messages tbody td.who").first
    expect(cell).to_contain_text("Ban Quản lý dự án")
    lines = cell.evaluate(
        """td => { const range = document.createRange(); range.selectNodeContents(td);
            return range.getBoundingClientRect().height / parseFloat(getComputedStyle(td).lineHeight); }"""
    )
    assert lines < 1.5, f"the sender takes {lines:.1f} lines"
    assert cell.evaluate("td => td.scrollWidth > td.clientWidth")  # cut, with an ellipsis
    assert cell.evaluate("td => getComputedStyle(td).textOverflow") == "ellipsis"
    inbox = page.get_by_role("navigation", name="Thư mục").locator("a").first
    label = inbox.locator("span").first.bounding_box()
    badge = inbox.locator(".count").bounding_box()
    link = inbox.bounding_box()
    assert label and badge and link
    assert label["x"] + label["width"] <= badge["x"], (label, badge)  # side by side, apart
    assert badge["x"] + badge["width"] <= link["x"] + link["width"] + 0.5  # inside its row
    page.get_by_label("Tìm thư", exact=True).fill("cong van")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(page.get_by_role("heading", name="Kết quả")).to_be_visible()
    expect(page.locator(".results tbody tr")).to_have_count(12)
    spilled = page.evaluate(
        """() => { const out = [], column = document.querySelector('.content').getBoundingClientRect();
            for (const td of document.querySelectorAll('.results td')) {
              const cell = td.getBoundingClientRect();
              if (cell.right > column.right + 1) out.push('cell ' + td.className);
              for (const el of td.querySelectorAll('*')) {
                const box = el.getBoundingClientRect();
                if (box.width && box.right > cell.right + 1) out.push(el.tagName + ' ' + el.className);
              }
            }
            return out; }"""
    )
    assert spilled == []
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
