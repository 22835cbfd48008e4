"""R13.7 in the webmail, over HTTP as a browser's form sends it (httpx, cookies kept, redirects not
followed): a .zip of old mail uploaded past the ordinary body limit (this address has its own), the
import run in the background while the page reloads itself, the summary with what was left out and
why, then every message there over real IMAP byte for byte with its flags and date. A file that is
not mail, a missing folder name and a second import at once are each refused with words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import re
import socket
import time
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from hopthu.config import Settings
from hopthu.mail import canonical
from hopthu.store import archiveimports
from tests.factories import make_message
from tests.imap.conftest import RunningServer
from tests.smtp.conftest import PASSWORD

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
BODY_MAX = 64 * 1024  # the ordinary limit for these tests
IMPORT_MAX = 1024 * 1024


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """Plain http (cookies without the __Host- prefix, which httpx sends) and small body limits."""
    return dataclasses.replace(
        server_settings,
        server=dataclasses.replace(server_settings.server, web_url="http://127.0.0.1"),
        limits=dataclasses.replace(
            server_settings.limits, max_request_body=BODY_MAX, max_import_upload=IMPORT_MAX
        ),
    )


@pytest.fixture
def person(imapserver: RunningServer) -> Iterator[httpx.Client]:
    base = f"http://127.0.0.1:{imapserver.port('http')}"
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        token = CSRF.search(client.get("/dang-nhap").text).group(1)
        signed = client.post("/dang-nhap", data={"login": "nvminh", "password": PASSWORD, "csrf": token})
        assert signed.status_code == 303, signed.text
        yield client


def upload(client: httpx.Client, name: str, data: bytes, **fields: str) -> httpx.Response:
    token = CSRF.search(client.get("/nhap-thu").text).group(1)
    return client.post(
        "/nhap-thu",
        data={"csrf": token, **fields},
        files={"tep": (name, data, "application/zip")},
    )


def declared_status(server: RunningServer, path: str, length: int) -> int:
    """The status a POST declaring `length` bytes gets before sending any (413 is answered at once)."""
    with socket.create_connection(("127.0.0.1", server.port("http")), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        sock.settimeout(10)
        head = sock.recv(100)
    return int(head.split(b" ", 2)[1])


def finished_page(client: httpx.Client) -> str:
    """The import page once the import is over (it reloads itself every few seconds meanwhile)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = client.get("/nhap-thu").text
        if 'http-equiv="refresh"' not in text:
            return text
        time.sleep(0.2)
    raise AssertionError("the import did not end within a minute")


def test_r13_7_a_zip_uploaded_imported_in_the_background_and_there_over_imap(
    imapserver: RunningServer, person: httpx.Client
) -> None:
    padding = "Nội dung công văn lưu trữ để vượt giới hạn thường. " * 40
    inbox = [make_message(f"Công văn {n}", padding) for n in range(40)]  # ~100 KB: past BODY_MAX
    sent = make_message("Đã gửi")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for n, data in enumerate(inbox):
            archive.writestr(f"Maildir/cur/{1_700_000_000 + n}.M{n}.host:2,S", data)
        archive.writestr("Maildir/.Sent/cur/1600000000.M9.host:2,RS", sent)
        archive.writestr("Maildir/cur/1700000999.M99.host:2,ST", make_message("Đã xóa"))
        archive.writestr("../../ngoai.eml", make_message("Leo ra ngoài"))
        archive.writestr("ghi-chu.txt", b"just notes")
    data = buffer.getvalue()
    assert BODY_MAX < len(data) < IMPORT_MAX

    assert declared_status(imapserver, "/thu-muc", len(data)) == 413  # the larger limit is this address's
    assert declared_status(imapserver, "/nhap-thu", IMPORT_MAX + 1) == 413  # … and it has a bound

    started = upload(person, "thu-cu.zip", data, noi="giu")
    assert started.status_code == 303 and started.headers["location"] == "/nhap-thu", started.text
    page = finished_page(person)
    assert 'id="import-done"' in page, page
    assert "Đã nhập 41 thư" in page
    summary = page[page.index('id="import-summary"') :]
    assert "đã bị xóa trong chương trình cũ" in summary  # the trashed one
    assert "không phải thư điện tử" in summary  # the notes
    assert "tên tệp trong tệp nén không an toàn" in summary  # ../../ngoai.eml
    assert 'id="import-form"' in page  # another file may be imported now

    client = imapserver.login("nvminh")
    try:
        client.select("INBOX", readonly=True)
        _, fetched = client.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
        parts = [part for part in fetched if isinstance(part, tuple)]
        assert [body for _, body in parts] == [canonical(m) for m in inbox]
        for n, (head, _) in enumerate(parts):
            assert b"\\Seen" in head
            internal = re.search(rb'INTERNALDATE "([^"]+)"', head).group(1).decode()
            arrived = dt.datetime.strptime(internal, "%d-%b-%Y %H:%M:%S %z")
            assert arrived == dt.datetime.fromtimestamp(1_700_000_000 + n, dt.UTC)
        client.select("Sent", readonly=True)
        _, fetched = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        ((head, body),) = [part for part in fetched if isinstance(part, tuple)]
        assert body == canonical(sent) and b"\\Answered" in head and b"\\Seen" in head
    finally:
        client.logout()


def test_r13_7_what_the_page_refuses_and_says(imapserver: RunningServer, person: httpx.Client) -> None:
    no_folder = upload(person, "a.eml", make_message("x"), noi="mot", thu_muc=" ")
    assert no_folder.status_code == 400 and "Hãy nhập tên thư mục" in no_folder.text

    not_mail = upload(person, "anh.jpg", b"\xff\xd8\xff\xe0 JFIF not mail", noi="giu")
    assert not_mail.status_code == 303
    page = finished_page(person)
    assert 'id="import-failed"' in page and "không phải thư lưu trữ" in page

    account_id = imapserver.account_id("nvminh")
    store = imapserver.services.store
    now = imapserver.services.directory.ctx.now()
    assert imapserver.run(archiveimports.claim(store.db, account_id, "dang-chay.zip", now))
    running = person.get("/nhap-thu").text
    assert 'http-equiv="refresh"' in running and 'id="import-form"' not in running
    busy = upload_without_page(person, "b.eml", make_message("y"))
    assert busy.status_code == 400 and "Bạn đang nhập một tệp khác" in busy.text


def upload_without_page(client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    """A second upload from a page opened before the first started (the form is hidden meanwhile)."""
    token = CSRF.search(client.get("/thu-muc").text).group(1)
    return client.post("/nhap-thu", data={"csrf": token, "noi": "giu"}, files={"tep": (name, data)})
