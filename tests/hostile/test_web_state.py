"""The web keeps its own state against a hostile page or mail, on the real `hopthu serve`:

- after sign-in only the session's CSRF token opens a form, never the pre-sign-in form token (which a
  sibling *.cantho.gov.vn site can plant as a cookie);
- with an https public address every cookie is `__Host-…; Secure` and HSTS is sent;
- no GET hands over the temporary passwords or exports a mailbox (405, nothing consumed or logged);
- a mail's CSS, however escaped, reaches the reader with nothing that fetches, and the mail frame's
  policy lets it load nothing from our site but the message's own parts (checked in Chromium too).
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import smtplib
import zipfile
from email.utils import make_msgid

import httpx
import pyotp
import pytest
from openpyxl import load_workbook

from hopthu.web.admin.auditnames import action_name
from tests.hostile.conftest import PASSWORD, Served, client_tls

PLAIN_URL = {"HOPTHU_SERVER_WEB_URL": "http://127.0.0.1"}  # a development address: plain cookie names
CSRF = re.compile(r'name="csrf" value="([^"]+)"')

EXPORTED = action_name("account.exported")[0]  # as the account's history names the act


def history(page: str) -> str:
    """The account page's history table (its buttons use some of the same words)."""
    start = page.find('class="list history"')
    return page[start:] if start >= 0 else ""


class Visitor:
    """A browser as far as cookies and forms go: httpx with its cookie jar, no redirects followed."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.client = httpx.Client(base_url=served.http, follow_redirects=False, timeout=30)

    def token(self, path: str) -> str:
        page = self.client.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return CSRF.search(page.text).group(1)

    def sign_in(self, login: str, password: str = PASSWORD) -> httpx.Response:
        token = self.token("/dang-nhap")
        answer = self.client.post(
            "/dang-nhap", data={"login": login, "password": password, "csrf": token, "next": "/thu"}
        )
        assert answer.status_code == 303, answer.text
        return answer

    def inbox(self) -> int:
        return int(self.client.get("/thu").headers["location"].rsplit("/", 1)[1])

    def folder_names(self) -> str:
        return self.client.get("/thu-muc").text


def _administrator(served: Served, visitor: Visitor) -> None:
    """The first administrator (quantri), password changed, signed in, second factor proved."""
    reset = served.cli("account", "reset-password", "quantri", "--json")
    assert reset.code == 0, reset.err
    temporary = reset.json()["temporary_password"]
    changed = served.cli("account", "change-password", "quantri", stdin=f"{temporary}\n{PASSWORD}\n")
    assert changed.code == 0, changed.err
    visitor.sign_in("quantri")
    enrol = visitor.client.get("/quan-tri/xac-thuc/dang-ky")
    secret = re.search(r'<code id="secret">([^<]+)</code>', enrol.text).group(1).replace(" ", "")
    token = CSRF.search(enrol.text).group(1)
    proved = visitor.client.post(
        "/quan-tri/xac-thuc",
        data={"code": pyotp.TOTP(secret).now(), "csrf": token, "next": "/quan-tri", "password": PASSWORD},
    )
    assert proved.status_code == 303, proved.text


def _send_to_self(served: Served, local: str, message: bytes) -> None:
    """Through submission with STARTTLS and AUTH, as a mail client would."""
    with smtplib.SMTP("127.0.0.1", served.port("submission"), timeout=30) as smtp:
        smtp.starttls(context=client_tls())
        smtp.login(local, PASSWORD)
        address = f"{local}@cantho.gov.vn"
        smtp.sendmail(address, [address], message)


# --- CSRF and cookies ------------------------------------------------------------------------------


@pytest.mark.parametrize("serve_env", [PLAIN_URL])
def test_after_sign_in_the_pre_sign_in_form_token_opens_nothing(served: Served) -> None:
    """A sibling site plants `hopthu_form=KNOWN` and posts a form carrying KNOWN: refused once the
    person is signed in; the page's own (session-bound) token still works."""
    local = served.account()
    person = Visitor(served)
    person.sign_in(local)
    person.client.cookies.set("hopthu_form", "planted-by-a-sibling-site", domain="127.0.0.1", path="/")
    forged = person.client.post(
        "/thu-muc", data={"ten": "Kho cua ke gian", "csrf": "planted-by-a-sibling-site"}
    )
    assert forged.status_code == 400 and "Biểu mẫu đã hết hạn" in forged.text
    old_form_token = person.client.cookies.get("hopthu_form")
    assert old_form_token == "planted-by-a-sibling-site"
    assert "Kho cua ke gian" not in person.folder_names()

    honest = person.client.post("/thu-muc", data={"ten": "Hồ sơ 2026", "csrf": person.token("/thu-muc")})
    assert honest.status_code == 303
    assert "Hồ sơ 2026" in person.folder_names()
    assert served.alive()


@pytest.mark.parametrize("serve_env", [{"HOPTHU_SERVER_WEB_URL": "https://mail.cantho.gov.vn"}])
def test_on_https_cookies_are_host_prefixed_and_secure_and_hsts_is_sent(served: Served) -> None:
    """The public address is https (as `hopthu init` makes it): `__Host-` names, Secure, Path=/, no
    Domain; a plain `hopthu_form` cookie (what a sibling site can set) is not read at all."""
    local = served.account()
    with httpx.Client(base_url=served.http, follow_redirects=False, timeout=30) as client:
        page = client.get("/dang-nhap")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        (form_cookie,) = page.headers.get_list("set-cookie")
        assert form_cookie.startswith("__Host-hopthu_form=")
        attributes = [part.strip().lower() for part in form_cookie.split(";")[1:]]
        assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
        assert not any(part.startswith("domain") for part in attributes)
        token = CSRF.search(page.text).group(1)

        planted = client.post(
            "/dang-nhap",
            data={"login": local, "password": PASSWORD, "csrf": "sibling"},
            headers={"cookie": "hopthu_form=sibling"},
        )
        assert planted.status_code == 400
        assert not any("hopthu_session" in c for c in planted.headers.get_list("set-cookie"))

        signed = client.post(
            "/dang-nhap",
            data={"login": local, "password": PASSWORD, "csrf": token},
            headers={"cookie": f"__Host-hopthu_form={token}"},
        )
        assert signed.status_code == 303
        assert signed.headers["strict-transport-security"].startswith("max-age=")
        cookies = signed.headers.get_list("set-cookie")
        (session,) = [c for c in cookies if c.startswith("__Host-hopthu_session=")]
        assert "; secure" in session.lower() and "; path=/" in session.lower()
        assert "domain=" not in session.lower()
        value = session.split(";")[0].split("=", 1)[1]
        inbox = client.get("/thu", headers={"cookie": f"__Host-hopthu_session={value}"})
        assert inbox.status_code == 303 and inbox.headers["location"].startswith("/thu/")
        ignored = client.get("/thu", headers={"cookie": f"hopthu_session={value}"})
        assert ignored.headers["location"].startswith("/dang-nhap")  # the plain name means nothing here
    assert served.alive()


# --- no GET changes state ----------------------------------------------------------------------------


@pytest.mark.parametrize("serve_env", [PLAIN_URL])
def test_the_temporary_passwords_are_handed_over_by_post_only(served: Served) -> None:
    admin = Visitor(served)
    _administrator(served, admin)
    row = {"family": "Trần", "middle": "Thị", "given": "Lan", "agency": "sokhcn", "rank": 0, "line": 1}
    filed = admin.client.post(
        "/quan-tri/yeu-cau/gui",
        data={"rows": json.dumps([row]), "csrf": admin.token("/quan-tri/yeu-cau/moi")},
    )
    assert filed.status_code == 303, filed.text
    queue = admin.client.get(filed.headers["location"]).text
    request_id = re.search(r"/quan-tri/yeu-cau/(\d+)/duyet", queue).group(1)
    approved = admin.client.post(
        f"/quan-tri/yeu-cau/{request_id}/duyet", data={"csrf": CSRF.search(queue).group(1)}
    )
    assert approved.status_code in (200, 303), approved.text
    assert "Tải mật khẩu tạm" in admin.client.get("/quan-tri/yeu-cau").text

    by_get = admin.client.get("/quan-tri/yeu-cau/mat-khau.xlsx")
    assert by_get.status_code == 405 and by_get.headers["allow"] == "POST"
    without_token = admin.client.post("/quan-tri/yeu-cau/mat-khau.xlsx", data={"csrf": "x"})
    assert without_token.status_code == 400
    assert "Tải mật khẩu tạm" in admin.client.get("/quan-tri/yeu-cau").text  # nothing consumed

    workbook = admin.client.post(
        "/quan-tri/yeu-cau/mat-khau.xlsx", data={"csrf": admin.token("/quan-tri/yeu-cau")}
    )
    assert workbook.status_code == 200 and workbook.content.startswith(b"PK")
    rows = list(
        load_workbook(io.BytesIO(workbook.content)).worksheets[0].iter_rows(min_row=2, values_only=True)
    )
    assert len(rows) == 1
    newcomer = Visitor(served)
    assert newcomer.sign_in(rows[0][1].split("@")[0], rows[0][3]).headers["location"] == "/doi-mat-khau"
    again = admin.client.post(
        "/quan-tri/yeu-cau/mat-khau.xlsx", data={"csrf": admin.token("/quan-tri/yeu-cau")}
    )
    assert again.status_code == 404  # handed over once
    assert served.alive()


@pytest.mark.parametrize("serve_env", [PLAIN_URL])
def test_exports_answer_405_to_get_and_work_by_post(served: Served) -> None:
    local = served.account()
    letter = (
        f"From: {local}@cantho.gov.vn\r\nTo: {local}@cantho.gov.vn\r\nSubject: Ke hoach\r\n\r\nNoi dung.\r\n"
    )
    _send_to_self(served, local, letter.encode())
    person = Visitor(served)
    person.sign_in(local)
    inbox = person.inbox()
    for kind in ("zip", "mbox"):
        assert person.client.get(f"/thu/{inbox}/tai-ve/{kind}").status_code == 405
        assert person.client.post(f"/thu/{inbox}/tai-ve/{kind}", data={"csrf": "x"}).status_code == 400
        taken = person.client.post(
            f"/thu/{inbox}/tai-ve/{kind}", data={"csrf": person.token(f"/thu/{inbox}")}
        )
        assert taken.status_code == 200
        if kind == "zip":
            names = zipfile.ZipFile(io.BytesIO(taken.content)).namelist()
            assert len(names) == 1 and names[0].endswith(".eml")
        else:
            assert b"Noi dung." in taken.content

    admin = Visitor(served)
    _administrator(served, admin)
    page = f"/quan-tri/hop-thu/{local}"
    assert admin.client.get(f"{page}/xuat.zip").status_code == 405
    assert EXPORTED not in history(admin.client.get(page).text)  # a GET is not logged: nothing ran
    assert admin.client.post(f"{page}/xuat.zip", data={"csrf": "x"}).status_code == 400
    assert EXPORTED not in history(admin.client.get(page).text)
    exported = admin.client.post(f"{page}/xuat.zip", data={"csrf": admin.token(page)})
    assert exported.status_code == 200 and exported.content.startswith(b"PK")
    assert EXPORTED in history(admin.client.get(page).text)
    assert served.alive()


# --- a mail's CSS and the frame ----------------------------------------------------------------------

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def hostile_letter(local: str, origin: str, inbox: int) -> bytes:
    """An HTML mail whose CSS asks, in every spelling, for our own state-changing addresses."""
    zip_url = f"{origin}/thu/{inbox}/tai-ve/zip"
    workbook = f"{origin}/quan-tri/yeu-cau/mat-khau.xlsx"
    html = (
        f"<style>@import url({origin}/a1.css); @\\69mport '{origin}/a2.css';"
        f"p.lead {{ color: #b00 }} .x {{ background: u\\72l({zip_url}) }}"
        f"@font-face {{ font-family: x; src: url({origin}/a3.woff) }}</style>"
        f'<p class="lead" style="background: u&#92;72l({workbook}); font-weight: bold">Kính gửi</p>'
        f'<div class="x" style="background-image: image-set(&quot;{origin}/a4.png&quot; 1x)">A</div>'
        f"<div style=\"background-image: -webkit-image-set(url('{origin}/a5.png') 1x)\">B</div>"
        f'<div style="list-style-image: \\75\\72\\6c({origin}/a6.png); width: e\\78pression(1)">C</div>'
        f'<div style="background: cross-fade(url({origin}/a7.png), red 50%)">D</div>'
        f'<img alt="ours" src="{origin}/a8.png"><img alt="logo" src="cid:logo@so">'
    )
    return (
        f"From: {local}@cantho.gov.vn\r\nTo: {local}@cantho.gov.vn\r\nSubject: Thu co CSS\r\n"
        f"Message-ID: {make_msgid()}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/related; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{html}\r\n--r\r\nContent-Type: image/png\r\nContent-ID: <logo@so>\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{base64.b64encode(PNG).decode()}\r\n--r--\r\n"
    ).encode()


def _deliver_hostile(served: Served) -> tuple[str, Visitor, int, int]:
    local = served.account()
    person = Visitor(served)
    person.sign_in(local)
    inbox = person.inbox()
    _send_to_self(served, local, hostile_letter(local, served.http, inbox))
    listing = person.client.get(f"/thu/{inbox}").text
    uid = int(re.search(rf'href="/thu/{inbox}/(\d+)"', listing).group(1))
    return local, person, inbox, uid


FETCHING = re.compile(r"url|image-set|image\(|cross-fade|expression|@import|font-face|\\", re.IGNORECASE)


@pytest.mark.parametrize("serve_env", [PLAIN_URL])
def test_a_mails_css_keeps_nothing_that_fetches(served: Served) -> None:
    _, person, inbox, uid = _deliver_hostile(served)
    for query in ("", "?anh=1"):  # remote images held back, then allowed: our own site never
        frame = person.client.get(f"/thu/{inbox}/{uid}/noi-dung{query}")
        assert frame.status_code == 200
        body = frame.text.split("<body>", 1)[1]
        assert not FETCHING.search(body), FETCHING.search(body)
        assert "Kính gửi" in body and "p.lead { color: #b00 }" in body and "font-weight: bold" in body
        assert "a1.css" not in body and "/a8.png" not in body and "tai-ve" not in body
        policy = frame.headers["content-security-policy"]
        port = served.port("http")
        assert f"img-src 127.0.0.1:{port}/thu/{inbox}/{uid}/tep/ data:" in policy
        assert "'self'" not in policy.split("frame-ancestors")[0]
        assert "default-src 'none'" in policy and "form-action 'none'" in policy
        logo = re.search(r'<img alt="logo" src="([^"]+)"', body).group(1)
        assert logo == f"/thu/{inbox}/{uid}/tep/2"  # the inline part, at our address
    assert person.client.get(logo).content == PNG  # and served
    assert served.alive()


@pytest.mark.parametrize("serve_env", [PLAIN_URL])
def test_in_a_browser_the_frame_asks_our_site_for_its_own_parts_only(served: Served) -> None:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    from tests.web.conftest import CHROMIUM_ARGS

    local, _, inbox, uid = _deliver_hostile(served)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=served.http, locale="vi-VN")
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto("/dang-nhap")
            page.get_by_label("Địa chỉ thư").fill(local)
            page.get_by_label("Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url("**/thu/*")
            for query in ("", "?anh=1"):
                asked: list[str] = []

                def note(request, asked: list[str] = asked) -> None:
                    asked.append(request.url)

                page.on("requestfinished", note)
                page.goto(f"/thu/{inbox}/{uid}{query}")
                frame = page.frame_locator("#body-frame")
                frame.get_by_text("Kính gửi").wait_for()
                page.wait_for_function(
                    "() => { const d = document.getElementById('body-frame').contentDocument;"
                    " const i = d && d.querySelector('img[alt=logo]'); return i && i.complete; }"
                )
                page.wait_for_timeout(500)
                ours = [url for url in asked if url.startswith(served.http)]
                frame_asked = [url for url in ours if f"/thu/{inbox}/{uid}/" in url]
                others = [
                    url
                    for url in ours
                    if url.split("?")[0] != f"{served.http}/thu/{inbox}/{uid}"
                    and "/static/" not in url
                    and url not in frame_asked
                ]
                assert others == [], others
                assert sorted({u.split("?")[0] for u in frame_asked}) == [
                    f"{served.http}/thu/{inbox}/{uid}/noi-dung",
                    f"{served.http}/thu/{inbox}/{uid}/tep/2",
                ], frame_asked
                color = frame.get_by_text("Kính gửi").evaluate("p => getComputedStyle(p).color")
                assert color == "rgb(187, 0, 0)"  # the harmless rule of the <style> block applies
                page.remove_listener("requestfinished", note)
        finally:
            browser.close()
    assert served.alive()
