"""Screenshots of the main webmail pages for the README, made anew from a running server with demo
data: `.venv/bin/python docs/screenshots.py` (needs Debian's chromium and PostgreSQL is not needed).

The server runs in this process on a temporary data folder; a browser (Playwright, the system's
chromium) signs in and saves each page as `docs/screenshots/<name>.png`, at a desktop and a phone
width, and the parts of pages the help centre shows as `src/hopthu/web/static/help/<name>-<lang>.png`
(`docs/screenshots.py help` makes only those).
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hopthu.config import Settings, StoreSettings  # noqa: E402
from hopthu.directory.people import PersonRow  # noqa: E402
from hopthu.mail import canonical, parse  # noqa: E402
from hopthu.security.certs import make_self_signed  # noqa: E402
from hopthu.server import Server, with_ports  # noqa: E402
from hopthu.smtp.dns import StaticResolver  # noqa: E402
from hopthu.store.mailstore import Target  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
HELP_OUT = ROOT / "src" / "hopthu" / "web" / "static" / "help"
PASSWORD = "Can-Tho-2026!"
LETTERS = [
    (
        "Văn phòng UBND thành phố <vanphong@cantho.gov.vn>",
        "Giấy mời họp giao ban tuần 48",
        "Kính mời đồng chí dự họp giao ban lúc 8 giờ thứ Hai tại phòng họp số 2.",
    ),
    (
        "Sở Tài chính <sotc@cantho.gov.vn>",
        "Công văn số 1234/STC-NS về dự toán ngân sách 2027",
        "Sở Tài chính đề nghị các đơn vị rà soát dự toán và gửi lại trước ngày 5/12.",
    ),
    (
        "Trần Thị Ngọc Ánh <ttnanh@cantho.gov.vn>",
        "Báo cáo chuyển đổi số quý IV",
        "Em gửi anh bản báo cáo tổng hợp; anh xem và góp ý giúp em.",
    ),
]


def letter(sender: str, subject: str, body: str, n: int) -> bytes:
    from email.header import Header
    from email.utils import formataddr, parseaddr

    name, address = parseaddr(sender)
    return (
        f"From: {formataddr((name, address), 'utf-8')}\r\nTo: nvminh@cantho.gov.vn\r\n"
        f"Subject: {Header(subject, 'utf-8').encode()}\r\nDate: Mon, 30 Nov 2026 0{7 + n}:15:00 +0700\r\n"
        f"Message-ID: <demo.{n}@cantho.gov.vn>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + body + "\r\n"
    ).encode()


async def prepare(server: Server) -> None:
    directory = server.services.directory
    await directory.agencies.add("Sở Nội vụ", code="sonv", actor="docs")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị Ngọc", "Ánh", "sonv")]
    for result in await directory.people.register(people, actor="docs"):
        await directory.accounts.change_password(result.address, result.temporary_password, PASSWORD)
    await directory.roles.grant("ttnanh", "operator", actor="docs")
    await directory.delegations.grant("sonv", "nvminh", can_send=True, actor="docs")
    account = await directory.accounts.get("nvminh")
    for n, (sender, subject, body) in enumerate(LETTERS):
        data = canonical(letter(sender, subject, body, n))
        await server.services.store.mail.deliver(data, parse(data), [Target(account.id, 10**10)])


def portal(page) -> None:
    """The administration portal, as the operator sees it after enrolling the second factor."""
    import pyotp

    page.goto("/dang-nhap")
    page.get_by_label("Địa chỉ thư").fill("ttnanh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/thu/*")
    page.goto("/quan-tri")
    page.screenshot(path=OUT / "quan-tri-xac-thuc.png", full_page=True)
    secret = page.locator("#secret").inner_text().replace(" ", "")
    page.get_by_label("Mã xác thực").fill(pyotp.TOTP(secret).now())
    page.get_by_label("Mật khẩu của bạn").fill(PASSWORD)
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_url("**/quan-tri")
    for path, name in (
        ("/quan-tri", "quan-tri"),
        ("/quan-tri/hop-thu", "quan-tri-hop-thu"),
        ("/quan-tri/hop-thu/nvminh", "quan-tri-mot-hop-thu"),
        ("/quan-tri/yeu-cau/moi", "quan-tri-yeu-cau"),
        ("/quan-tri/bao-cao", "quan-tri-bao-cao"),
    ):
        page.goto(path)
        page.screenshot(path=OUT / f"{name}.png", full_page=True)
    page.context.close()


def help_images(page) -> None:
    """What the help pages point at, cut from the page around it, in Vietnamese and in English: the
    folder column with an agency mailbox delegated (help/doc-thu, help/hop-thu-co-quan), the buttons
    above a message (help/lua-dao) and the compose page as it opens, with its From field
    (help/viet-thu)."""
    page.goto("/dang-nhap")
    page.get_by_label("Địa chỉ thư").fill("nvminh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/thu/*")
    inbox = page.url
    letter = page.get_by_role("link", name="Báo cáo chuyển đổi số quý IV").get_attribute("href")
    HELP_OUT.mkdir(parents=True, exist_ok=True)
    for lang in ("vi", "en"):
        page.goto(f"{inbox}?lang={lang}")
        page.locator("nav.folders").screenshot(path=HELP_OUT / f"thu-muc-{lang}.png")
        page.goto(letter)
        page.wait_for_load_state("networkidle")
        page.locator(".reading .toolbar").screenshot(path=HELP_OUT / f"nut-thu-{lang}.png")
        page.goto("/soan-thu")
        page.screenshot(path=HELP_OUT / f"soan-thu-{lang}.png")  # the send bar sticks to the bottom
    page.context.close()


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is needed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="hopthu-docs-"))
    settings = Settings(data_dir=folder, store=StoreSettings(group_commit_ms=1))
    make_self_signed(
        settings.path(settings.server.tls_cert), settings.path(settings.server.tls_key), ["localhost"]
    )
    settings = with_ports(
        settings, http_port=0, mx_port=0, submission_port=0, submissions_port=0,
        imap_port=0, imaps_port=0, pop3_port=0, pop3s_port=0,
    )  # fmt: skip
    settings = dataclasses.replace(settings)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = Server(settings, resolver=StaticResolver())
    asyncio.run_coroutine_threadsafe(server.start(), loop).result()
    asyncio.run_coroutine_threadsafe(prepare(server), loop).result()
    site = f"http://127.0.0.1:{server.ports['http']}"
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium,
                args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
            )
            help_images(
                browser.new_context(base_url=site, viewport={"width": 1280, "height": 800}).new_page()
            )
            if sys.argv[1:] == ["help"]:
                return
            for width, height, suffix in ((1280, 800, ""), (390, 844, "-phone")):
                page = browser.new_context(
                    base_url=site, viewport={"width": width, "height": height}
                ).new_page()
                page.goto("/dang-nhap")
                page.screenshot(path=OUT / f"dang-nhap{suffix}.png")
                page.get_by_label("Địa chỉ thư").fill("nvminh")
                page.get_by_label("Mật khẩu").fill(PASSWORD)
                page.get_by_role("button", name="Đăng nhập").click()
                page.wait_for_url("**/thu/*")
                page.screenshot(path=OUT / f"hop-thu-den{suffix}.png", full_page=True)
                page.get_by_role("link", name="Báo cáo chuyển đổi số quý IV").click()
                page.wait_for_load_state("networkidle")
                page.screenshot(path=OUT / f"doc-thu{suffix}.png", full_page=True)
                for path, name in (
                    ("/soan-thu", "soan-thu"),
                    ("/tim-kiem?q=cong+van", "tim-kiem"),
                    ("/cai-dat", "cai-dat"),
                ):
                    answer = page.goto(path)
                    if answer is not None and answer.status == 200:
                        page.screenshot(path=OUT / f"{name}{suffix}.png", full_page=True)
                page.context.close()
            portal(browser.new_context(base_url=site, viewport={"width": 1280, "height": 800}).new_page())
            browser.close()
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
