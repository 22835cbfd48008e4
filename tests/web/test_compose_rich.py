"""Writing with formatting in a real browser: bold and lists sent as multipart/alternative with a
text alternative, a table pasted from Word kept as a plain table, a hostile HTML body cleaned by the
server, the page without its script sending plain text as before, and a draft reopened as written."""

from __future__ import annotations

import email.message

import httpx
from playwright.sync_api import expect

from hopthu.mail.richtext import has_formatting, html_to_text, text_to_html
from tests.imap.conftest import RunningServer
from tests.web.conftest import sign_in
from tests.web.test_compose import compose, cookies_of, parsed, stored

WORD_TABLE = """<html xmlns:o="urn:schemas-microsoft-com:office:office"
 xmlns:w="urn:schemas-microsoft-com:office:word"><head><meta name=Generator content="Microsoft Word 15">
<style><!-- p.MsoNormal {mso-style-parent:""; margin:0cm; font-family:"Calibri"} --></style></head>
<body lang=VI style='tab-interval:36.0pt'><!--StartFragment-->
<p class=MsoNormal style='mso-margin-top-alt:auto'>Số liệu quý I<o:p></o:p></p>
<table class=MsoTableGrid border=1 cellspacing=0 cellpadding=0 style='border-collapse:collapse;
 mso-yfti-tbllook:1184;mso-padding-alt:0cm 5.4pt 0cm 5.4pt'>
 <tr style='mso-yfti-irow:0;mso-yfti-firstrow:yes'>
  <td width=301 valign=top style='width:225.4pt;border:solid windowtext 1.0pt;mso-border-alt:solid'>
  <p class=MsoNormal><b style='mso-bidi-font-weight:normal'>Đơn vị<o:p></o:p></b></p></td>
  <td width=301 valign=top style='width:225.4pt'><p class=MsoNormal>Hồ sơ<o:p></o:p></p></td>
 </tr>
 <tr style='mso-yfti-irow:1;mso-yfti-lastrow:yes'>
  <td width=301 valign=top><p class=MsoNormal>Ninh Kiều<o:p></o:p></p></td>
  <td width=301 valign=top><p class=MsoNormal>42<o:p></o:p></p></td>
 </tr>
</table>
<!--EndFragment--></body></html>"""

PASTE = """(html) => {
    const data = new DataTransfer();
    data.setData("text/html", html);
    data.setData("text/plain", "Số liệu quý I");
    const editor = document.getElementById("body");
    editor.focus();
    const init = { clipboardData: data, bubbles: true, cancelable: true };
    editor.dispatchEvent(new ClipboardEvent("paste", init));
}"""


def _parts(data: bytes) -> tuple[email.message.EmailMessage, str, str]:
    letter = parsed(data)
    html_part = letter.get_body(("html",))
    text_part = letter.get_body(("plain",))
    assert html_part is not None and text_part is not None
    return letter, html_part.get_content(), text_part.get_content().replace("\r\n", "\n")


def _watch_csp(page) -> list[str]:
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
    )
    return refused


def test_text_alternative_reads_like_typed_text() -> None:
    written = (
        "<div>Kính gửi <b>anh</b>,</div><ul><li>một</li><li>xem <a href='https://cantho.gov.vn/a'>đây</a>"
        "</li></ul><ol><li>hai</li><li>ba</li></ol><blockquote><div>trích</div></blockquote>"
        "<table><tr><td>A</td><td>B</td></tr></table><div>x<br>y</div>"
    )
    assert html_to_text(written) == (
        "Kính gửi anh,\n- một\n- xem đây <https://cantho.gov.vn/a>\n1. hai\n2. ba\n> trích\nA | B\nx\ny"
    )
    assert has_formatting(written)
    assert not has_formatting("<div>Một dòng</div><div><br></div><p>Hai</p>")
    assert (
        text_to_html("a\n> q <b>\nb")
        == "<div>a</div><blockquote><div>q &lt;b&gt;</div></blockquote><div>b</div>"
    )


def test_bold_and_a_list_are_sent_with_a_text_alternative(imapserver: RunningServer, page) -> None:
    refused = _watch_csp(page)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Việc cần làm")
    editor = page.get_by_role("textbox", name="Nội dung")
    editor.click()
    editor.press_sequentially("Kính gửi ")
    editor.press("Control+b")
    editor.press_sequentially("chị Ánh")
    editor.press("Control+b")
    editor.press_sequentially(",")
    editor.press("Enter")
    page.get_by_role("button", name="Danh sách dấu đầu dòng").click()
    expect(page.get_by_role("button", name="Danh sách dấu đầu dòng")).to_have_attribute(
        "aria-pressed", "true"
    )
    editor.press_sequentially("Báo cáo quý")
    editor.press("Enter")
    editor.press_sequentially("Kế hoạch năm")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()

    (received,) = stored(imapserver, "ttnanh", "INBOX")
    letter, html_body, text = _parts(received)
    assert letter.get_content_type() == "multipart/alternative"
    assert "<b>chị Ánh</b>" in html_body or "<strong>chị Ánh</strong>" in html_body
    assert "<ul><li>Báo cáo quý" in html_body and "<li>Kế hoạch năm" in html_body
    assert text.rstrip("\n") == "Kính gửi chị Ánh,\n- Báo cáo quý\n- Kế hoạch năm"
    assert refused == []


def test_a_table_pasted_from_word_stays_a_plain_table(imapserver: RunningServer, page) -> None:
    refused = _watch_csp(page)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Bảng số liệu")
    page.evaluate(PASTE, WORD_TABLE)
    editor = page.get_by_role("textbox", name="Nội dung")
    expect(editor.locator("table td")).to_have_count(4)
    inner = editor.inner_html()
    for junk in ("mso", "o:p", "class=", "style=", "<!--", "MsoNormal", "width="):
        assert junk not in inner, junk
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    _, html_body, text = _parts(received)
    assert "<table>" in html_body and "<td>" in html_body and "mso" not in html_body
    assert "Đơn vị | Hồ sơ" in text and "Ninh Kiều | 42" in text
    assert refused == []


def test_a_hostile_body_is_cleaned_before_it_leaves(imapserver: RunningServer, page, site: str) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    form = {
        "csrf": page.locator("#compose input[name=csrf]").input_value(),
        "from": "nvminh@cantho.gov.vn",
        "to": "ttnanh@cantho.gov.vn",
        "subject": "Thư lạ",
        "body": "Xin chào",
        "body_html": (
            "<p onclick='steal()'>Xin chào <b>anh</b></p><script>alert(1)</script>"
            "<img src=x onerror=alert(1)><a href='javascript:alert(1)'>bấm</a>"
            "<img src='https://theo-doi.example/t.png'><div style='background:url(https://x.example/b)'>"
            "nền</div><iframe src='https://x.example'></iframe><ul><li>mục</li></ul>"
        ),
    }
    answer = httpx.post(f"{site}/soan-thu", data=form, cookies=cookies_of(page), timeout=30)
    assert answer.status_code == 303
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    _, html_body, text = _parts(received)
    lowered = html_body.lower()
    for hostile in (
        "<script",
        "alert",
        "onerror",
        "onclick",
        "javascript:",
        "theo-doi.example",
        "x.example",
        "<iframe",
    ):
        assert hostile not in lowered, hostile
    assert "<b>anh</b>" in html_body and "<li>mục</li>" in html_body
    assert "- mục" in text and "alert" not in text


def test_without_the_script_the_letter_is_plain_text(imapserver: RunningServer, browser, site: str) -> None:
    context = browser.new_context(base_url=site, locale="vi-VN", java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, "nvminh")
        page.goto("/soan-thu")
        expect(page.get_by_role("toolbar")).to_be_hidden()
        page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
        page.get_by_label("Tiêu đề").fill("Không có định dạng")
        page.get_by_role("textbox", name="Nội dung").fill("Dòng một\n- không phải danh sách")
        page.get_by_role("button", name="Gửi", exact=True).click()
        page.wait_for_url("**/thu/*")
    finally:
        context.close()
    (received,) = stored(imapserver, "ttnanh", "INBOX")
    letter = parsed(received)
    assert letter.get_content_type() == "text/plain"
    assert letter.get_content().replace("\r\n", "\n").rstrip("\n") == "Dòng một\n- không phải danh sách"


def test_a_draft_keeps_its_formatting(imapserver: RunningServer, page) -> None:
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Dự thảo có định dạng")
    editor = page.get_by_role("textbox", name="Nội dung")
    editor.click()
    page.get_by_role("button", name="Đậm (Ctrl+B)").click()
    editor.press_sequentially("Khẩn")
    page.get_by_role("button", name="Đậm (Ctrl+B)").click()
    editor.press_sequentially(":")
    editor.press("Enter")
    page.get_by_role("button", name="Danh sách đánh số").click()
    editor.press_sequentially("Bước đầu")
    page.get_by_role("button", name="Lưu nháp").click()
    expect(page.get_by_role("status").filter(has_text="Đã lưu thư nháp")).to_be_visible()
    (draft,) = stored(imapserver, "nvminh", "Drafts")
    _, html_body, text = _parts(draft)
    assert "<b>Khẩn</b>" in html_body and "<ol><li>Bước đầu" in html_body
    assert text.rstrip("\n") == "Khẩn:\n1. Bước đầu"

    editor = page.get_by_role("textbox", name="Nội dung")  # the draft reopened in the editor
    expect(editor.locator("b")).to_have_text("Khẩn")
    expect(editor.locator("ol li")).to_have_text("Bước đầu")


def test_italic_link_quote_undo_and_redo(imapserver: RunningServer, page) -> None:
    refused = _watch_csp(page)
    sign_in(page, "nvminh")
    page.wait_for_url("**/thu/*")
    compose(page)
    page.get_by_label("Đến").fill("ttnanh@cantho.gov.vn")
    page.get_by_label("Tiêu đề").fill("Trích dẫn và liên kết")
    editor = page.get_by_role("textbox", name="Nội dung")
    editor.click()
    editor.press_sequentially("Xem ")
    editor.press("Control+i")
    editor.press_sequentially("gấp")
    editor.press("Control+i")
    editor.press_sequentially(": ")
    page.once("dialog", lambda dialog: dialog.accept("https://cantho.gov.vn/van-ban"))
    page.get_by_role("button", name="Liên kết").click()
    editor.press("End")
    editor.press("Enter")
    page.get_by_role("button", name="Trích dẫn").click()
    editor.press_sequentially("Lời trích")
    expect(editor.locator("blockquote")).to_have_text("Lời trích")
    editor.press("Enter")
    editor.press("Enter")  # an empty line leaves the quote
    editor.press_sequentially("thừa")
    page.get_by_role("button", name="Hoàn tác (Ctrl+Z)").click()
    expect(editor).not_to_contain_text("thừa")
    page.get_by_role("button", name="Làm lại (Ctrl+Y)").click()
    expect(editor).to_contain_text("thừa")
    page.get_by_role("button", name="Hoàn tác (Ctrl+Z)").click()
    expect(editor).not_to_contain_text("thừa")
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Đã gửi thư")).to_be_visible()

    (received,) = stored(imapserver, "ttnanh", "INBOX")
    _, html_body, text = _parts(received)
    assert "<i>gấp</i>" in html_body
    assert 'href="https://cantho.gov.vn/van-ban"' in html_body
    assert "<blockquote>" in html_body
    assert text.startswith("Xem gấp: https://cantho.gov.vn/van-ban\n> Lời trích")
    assert refused == []

    page.goto("/soan-thu?lang=en")
    for name in ("Bold (Ctrl+B)", "Italic (Ctrl+I)", "Bulleted list", "Numbered list", "Link", "Quote"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("toolbar", name="Formatting")).to_be_visible()
