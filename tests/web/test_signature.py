"""A signature written with formatting on the settings page, in the letter's editor: kept cleaned
with its text beside it, put below a new letter, a reply and a forward, and sent with the letter's
text alternative."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.imap.conftest import RunningServer, message
from tests.web.conftest import sign_in
from tests.web.test_compose import compose, parsed, stored
from tests.web.test_compose_rich import _watch_csp


def preferences(imapserver: RunningServer):
    account = imapserver.run(imapserver.services.directory.accounts.get("nvminh"))
    return imapserver.run(imapserver.services.directory.preferences.get(account.id))


def write_signature(page) -> None:
    page.goto("/cai-dat")
    editor = page.get_by_role("textbox", name="Chữ ký")
    editor.click()
    editor.press("Control+a")
    editor.press("Delete")
    editor.press_sequentially("Nguyễn Văn Minh")
    editor.press("Enter")
    page.get_by_role("button", name="Đậm (Ctrl+B)").click()
    editor.press_sequentially("Sở Nội vụ")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_url("**/cai-dat?da-luu=1")


def test_a_formatted_signature_is_kept_and_signs_a_new_letter(imapserver: RunningServer, page) -> None:
    refused = _watch_csp(page)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    write_signature(page)
    saved = preferences(imapserver)
    assert re.search(r"<b>Sở Nội vụ</b>", saved.signature_html), saved.signature_html
    assert saved.signature == "Nguyễn Văn Minh\nSở Nội vụ"
    expect(page.get_by_role("textbox", name="Chữ ký").locator("b")).to_have_text("Sở Nội vụ")  # shown again
    page.goto("/thu")
    compose(page)
    editor = page.get_by_role("textbox", name="Nội dung")
    expect(editor.locator("b")).to_have_text("Sở Nội vụ")
    expect(editor).to_contain_text("-- ")
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Ký tên có định dạng")
    editor.press("Control+Home")
    editor.press_sequentially("Kính gửi chị Ánh.")
    page.get_by_role("button", name="Gửi").click()
    page.wait_for_url("**/thu/*?da-gui=1")
    (letter,) = [parsed(data) for data in stored(imapserver, "ttnanh", "INBOX")]
    assert letter.get_content_type() == "multipart/alternative"
    text = letter.get_body(("plain",)).get_content()
    assert "Kính gửi chị Ánh." in text and "-- \nNguyễn Văn Minh\nSở Nội vụ" in text.replace("\r\n", "\n")
    assert re.search(r"<b>Sở Nội vụ</b>", letter.get_body(("html",)).get_content())
    assert refused == []


def test_a_reply_carries_the_formatted_signature_above_the_quote(imapserver: RunningServer, page) -> None:
    imapserver.deliver("nvminh", message("Hỏi ý kiến", "Anh cho ý kiến giúp."))
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    write_signature(page)
    page.goto("/thu")
    page.get_by_role("link", name="Hỏi ý kiến").click()
    page.get_by_role("link", name="Trả lời", exact=True).click()
    editor = page.get_by_role("textbox", name="Nội dung")
    expect(editor.locator("b")).to_have_text("Sở Nội vụ")
    expect(editor.locator("blockquote")).to_contain_text("Anh cho ý kiến giúp.")
    assert editor.evaluate(
        "area => area.querySelector('b').compareDocumentPosition(area.querySelector('blockquote'))"
        " & Node.DOCUMENT_POSITION_FOLLOWING"
    )


def test_a_signature_is_cleaned_on_the_server(imapserver: RunningServer, page) -> None:
    """Whatever is posted, the kept HTML has no script, handler, script link or remote image."""
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/cai-dat")
    token = page.locator("form.settings input[name=csrf]").first.get_attribute("value")
    hostile = (
        '<div><b onmouseover="alert(1)">Minh</b><script>alert(2)</script>'
        '<a href="javascript:alert(3)">x</a><img src="https://example.org/t.png"></div>'
    )
    answer = page.request.post(
        "/cai-dat/ca-nhan",
        form={"csrf": token or "", "signature": "Minh x", "signature_html": hostile},
        max_redirects=0,
    )
    assert answer.status == 303
    kept = preferences(imapserver).signature_html
    assert "<b>Minh</b>" in kept
    for bad in ("onmouseover", "<script", "javascript:", "src=", "example.org"):
        assert bad not in kept, kept


def test_a_signature_without_formatting_stays_text(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/cai-dat")
    editor = page.get_by_role("textbox", name="Chữ ký")
    editor.click()
    editor.press_sequentially("Phòng Tổ chức")
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_url("**/cai-dat?da-luu=1")
    saved = preferences(imapserver)
    assert saved.signature == "Phòng Tổ chức" and saved.signature_html == ""


def test_an_overlong_signature_is_refused_not_cut(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    page.goto("/cai-dat")
    token = page.locator("form.settings input[name=csrf]").first.get_attribute("value")
    overlong = "<div><b>Minh</b></div>" * 1000
    answer = page.request.post(
        "/cai-dat/ca-nhan", form={"csrf": token or "", "signature": "Minh", "signature_html": overlong}
    )
    assert answer.status == 400 and "Chữ ký có định dạng quá dài" in answer.text()
    assert "&lt;b&gt;Minh" not in answer.text()  # the uncleaned HTML is not echoed back
    assert preferences(imapserver).signature_html == ""
