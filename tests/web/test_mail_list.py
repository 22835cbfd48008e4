"""The message list in a real browser: folders with unread counts, live arrival of new mail, and the
actions on chosen messages going through the same store as IMAP."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in


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
