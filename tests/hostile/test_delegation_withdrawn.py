"""A withdrawn delegation (R8.2) ends the access at once, on a real `hopthu serve`.

The operator withdraws it in the portal; a delegate's IMAP session sitting in IDLE on the agency
mailbox is told `* BYE` within seconds (not at the next 30-second re-check or its next command),
gets no news of mail arriving there afterwards, and a session that never opened the agency mailbox
no longer lists it. Before this, the IDLE session kept receiving the agency's mail for up to 30 min.
"""

from __future__ import annotations

import imaplib
import re
import smtplib
import time
from email.message import EmailMessage

import httpx
import pyotp

from tests.hostile.conftest import PASSWORD, Served, client_tls
from tests.imap.rawclient import RawClient

DOMAIN = "cantho.gov.vn"


class Portal:
    """The administration portal as an operator's browser uses it (sign-in, second factor, forms)."""

    def __init__(self, served: Served) -> None:
        reset = served.cli("account", "reset-password", "quantri", "--json")
        assert reset.code == 0, reset.err
        answers = f"{reset.json()['temporary_password']}\n{PASSWORD}\n"
        assert served.cli("account", "change-password", "quantri", stdin=answers).code == 0
        self.http = httpx.Client(base_url=served.http, timeout=30, follow_redirects=True)
        page = self.http.get("/dang-nhap")
        form = {"login": "quantri", "password": PASSWORD, "csrf": _csrf(page.text), "next": "/"}
        answer = self.http.post("/dang-nhap", data=form)
        assert answer.status_code == 200, answer.text
        enrol = self.http.get("/quan-tri")
        secret = re.search(r'<code id="secret">([^<]+)</code>', enrol.text)
        assert secret is not None, enrol.text
        code = pyotp.TOTP(secret[1].replace(" ", "")).now()
        proved = self.http.post(
            "/quan-tri/xac-thuc",
            data={"code": code, "next": "/quan-tri", "csrf": _csrf(enrol.text), "password": PASSWORD},
        )
        assert proved.status_code == 200 and "/quan-tri" in str(proved.url), proved.text

    def act(self, mailbox: str, act: str, person: str) -> None:
        page = self.http.get(f"/quan-tri/hop-thu/{mailbox}")
        done = self.http.post(
            f"/quan-tri/hop-thu/{mailbox}/{act}",
            data={"person": person, "csrf": _csrf(page.text), "can_send": "1"},
        )
        assert done.status_code == 200 and 'role="status"' in done.text, done.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found[1]


def deliver(served: Served, local: str, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "ban@example.org"
    message["To"] = f"{local}@{DOMAIN}"
    message["Subject"] = subject
    message.set_content("Noi dung / content")
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=30) as smtp:
        smtp.send_message(message)


def imap(served: Served, local: str) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL("127.0.0.1", served.port("imaps"), ssl_context=client_tls(), timeout=30)
    client.login(local, PASSWORD)
    return client


def test_withdrawal_reaches_an_idle_session_at_once(served: Served) -> None:
    person = served.account()
    honest_person = served.account(given="Lan", family="Trần", middle="Thị")
    added = served.cli("agency", "add", "--name", "Sở Nội vụ", "--code", "sonv", "--json")
    assert added.code == 0, added.err
    portal = Portal(served)
    portal.act("sonv", "uy-quyen", person)
    portal.act("sonv", "uy-quyen", honest_person)
    deliver(served, "sonv", "Cong van 1")

    # The delegate waits in IDLE on the agency mailbox, as a phone does.
    raw = RawClient(served.port("imaps"), tls=True)
    raw.send(f"a LOGIN {person} {PASSWORD}\r\n".encode())
    assert b"a OK" in raw.receive_until(b"a OK", 10)
    raw.send(b'b SELECT "Shared/sonv/INBOX"\r\n')
    assert b"b OK" in raw.receive_until(b"b OK", 10)
    raw.send(b"c IDLE\r\n")
    assert b"+ " in raw.receive_until(b"+ ", 10)
    deliver(served, "sonv", "Cong van 2")
    assert b"EXISTS" in raw.receive_until(b"EXISTS", 10)  # IDLE works while the right holds

    other = imap(served, person)  # a second session of the same person, never inside the agency mailbox
    assert b"Shared/sonv/INBOX" in b"".join(other.list()[1])

    portal.act("sonv", "bo-uy-quyen", person)
    started = time.monotonic()
    seen = raw.receive_until(b"* BYE", 10)
    took = time.monotonic() - started
    assert b"* BYE [UNAVAILABLE]" in seen, seen
    assert took < 5, took
    deliver(served, "sonv", "Cong van 3")
    after = raw.receive_until(b"EXISTS", 3)
    assert b"EXISTS" not in after  # nothing more of the agency's mail reaches it
    raw.close()

    listed = b"".join(other.list()[1])
    assert b"Shared" not in listed and b"INBOX" in listed
    status, answer = other.select('"Shared/sonv/INBOX"')
    assert status == "NO" and b"NONEXISTENT" in answer[0]
    other.logout()

    # The honest delegate's access is untouched: it still reads the agency's mail.
    honest = imap(served, honest_person)
    status, count = honest.select('"Shared/sonv/INBOX"')
    assert status == "OK" and int(count[0]) == 3
    status, found = honest.search(None, "ALL")
    assert status == "OK" and found[0].split() == [b"1", b"2", b"3"]
    honest.logout()
    assert served.alive()
