"""rspamd and clamd inside the real `hopthu serve`, spoken to with smtplib and imaplib."""

from __future__ import annotations

import email
import imaplib
import smtplib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.hostile.conftest import PASSWORD, Served, client_tls
from tests.protection.conftest import EICAR, GTUBE, JUNK_MARKER, Engines
from tests.protection.test_clients import with_attachment, zipped

DOMAIN = "cantho.gov.vn"
OUTSIDE = "ban@example.org"


def letter(to: str, body: str, subject: str = "Chao") -> bytes:
    return (
        f"From: {OUTSIDE}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 02 Mar 2026 08:30:00 +0700\r\n"
        f"Message-ID: <{time.monotonic_ns()}@example.org>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def attached(to: str, name: str, content: bytes) -> bytes:
    return with_attachment(name, content).replace(b"To: minh@cantho.gov.vn", f"To: {to}".encode())


def mx_send(served: Served, to: str, data: bytes) -> tuple[int, bytes]:
    """DATA's answer from the MX (code and text), not raising on a refusal."""
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=60) as smtp:
        smtp.ehlo("mx.example.org")
        code, _ = smtp.mail(OUTSIDE)
        assert code == 250
        code, text = smtp.rcpt(to)
        assert code == 250, text
        return smtp.data(data)


def folder(served: Served, local: str, name: str, password: str = PASSWORD) -> list[bytes]:
    with imaplib.IMAP4_SSL("127.0.0.1", served.port("imaps"), ssl_context=client_tls(), timeout=30) as imap:
        imap.login(local, password)
        imap.select(f'"{name}"', readonly=True)
        _, found = imap.search(None, "ALL")
        messages = []
        for number in found[0].split():
            _, parts = imap.fetch(number, "(BODY.PEEK[])")
            messages.append(parts[0][1])
        return messages


@pytest.fixture
def served(start: Callable[..., Served], engines: Engines, dns_env: dict[str, str]) -> Served:
    return start({**dns_env, **engines.env(junk_score="30", reject_score="100")})


def test_gtube_is_refused_at_data(engines: Engines, dns_env: dict[str, str], start) -> None:
    served = start({**dns_env, **engines.env()})
    minh = served.account()
    code, text = mx_send(served, f"{minh}@{DOMAIN}", letter(f"{minh}@{DOMAIN}", GTUBE))
    assert code == 550 and text.startswith(b"5.7.1"), text
    assert folder(served, minh, "INBOX") == [] and folder(served, minh, "Junk") == []


def test_a_score_between_junk_and_reject_files_to_junk_with_x_spam_headers(served: Served) -> None:
    minh = served.account()
    code, _ = mx_send(served, f"{minh}@{DOMAIN}", letter(f"{minh}@{DOMAIN}", f"Xin chao. {JUNK_MARKER}"))
    assert code == 250
    junk = folder(served, minh, "Junk")
    assert len(junk) == 1 and folder(served, minh, "INBOX") == []
    assert b"X-Spam-Flag: YES" in junk[0] and b"HOPTHU_TEST_JUNK_MARKER" in junk[0]
    assert b"X-Spam-Status: Yes, score=" in junk[0]
    code, _ = mx_send(served, f"{minh}@{DOMAIN}", letter(f"{minh}@{DOMAIN}", "Kinh gui anh, hop luc 8 gio."))
    inbox = folder(served, minh, "INBOX")
    assert code == 250 and len(inbox) == 1 and b"X-Spam-Status: No, score=" in inbox[0]


def test_eicar_is_refused_in_the_body_an_attachment_and_a_zip(served: Served) -> None:
    minh = served.account()
    to = f"{minh}@{DOMAIN}"
    for data in (
        letter(to, EICAR.decode()),
        attached(to, "eicar.com.txt", EICAR),
        attached(to, "tai-lieu.zip", zipped("eicar.txt", EICAR)),
    ):
        code, text = mx_send(served, to, data)
        assert code == 550 and b"HopThu.Test.EICAR" in text, text
    assert folder(served, minh, "INBOX") == [] and folder(served, minh, "Junk") == []
    assert served.healthz()["protection"]["scanning"]["status"] == "on"


def test_eicar_sent_by_our_own_person_is_refused(served: Served) -> None:
    minh, lan = served.account(), served.account("Lan", "Trần", "Thị")
    context = client_tls()
    with smtplib.SMTP_SSL("127.0.0.1", served.port("submissions"), context=context, timeout=60) as smtp:
        smtp.login(minh, PASSWORD)
        data = attached(f"{lan}@{DOMAIN}", "x.zip", zipped("a.txt", EICAR)).replace(
            b"From: ban@example.org", f"From: {minh}@{DOMAIN}".encode()
        )
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail(f"{minh}@{DOMAIN}", [f"{lan}@{DOMAIN}"], data)
    assert refused.value.smtp_code == 550 and b"HopThu.Test.EICAR" in refused.value.smtp_error
    assert folder(served, lan, "INBOX") == []


def test_healthz_and_make_run_defaults_say_off(start: Callable[..., Served], dns_env: dict[str, str]) -> None:
    served = start(dns_env)
    report = served.healthz()
    assert report["status"] == "ok"
    assert report["protection"]["scoring"]["status"] == "off"
    assert report["protection"]["scanning"]["status"] == "off"
    minh = served.account()
    code, _ = mx_send(served, f"{minh}@{DOMAIN}", letter(f"{minh}@{DOMAIN}", EICAR.decode()))
    assert code == 250  # no scanner configured: the built-in checks alone


def operator(cli: Cli) -> tuple[str, str]:
    """The first administrator `init` made, with a password of ours."""
    made = cli.init().json()
    local = made.get("address", "quantri@").split("@")[0] or "quantri"
    temporary = made["temporary_password"]
    changed = cli("account", "change-password", local, stdin=f"{temporary}\n{PASSWORD}\n")
    assert changed.code == 0, changed.err
    return local, PASSWORD


def test_rspamd_down_gives_451_and_the_retry_arrives_once_and_operators_are_told(
    start: Callable[..., Served], engines: Engines, dns_env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path / "data", database_url)
    admin, admin_password = operator(cli)
    own = engines.new_rspamd("rspamd-stopped")
    own.start()
    try:
        served = start({**dns_env, **engines.env(rspamd=own)})
        minh = served.account()
        to = f"{minh}@{DOMAIN}"
        data = letter(to, "Bien ban hop giao ban.", subject="Bien ban")
        own.stop()
        code, text = mx_send(served, to, data)
        assert code == 451, text
        health = served.healthz()
        assert health["status"] == "degraded"
        assert health["protection"]["scoring"]["status"] == "failing"
        assert health["protection"]["scoring"]["last_failure"]
        own.start()
        code, _ = mx_send(served, to, data)  # the sender's retry
        assert code == 250
        inbox = folder(served, minh, "INBOX")
        assert [m for m in inbox if b"Subject: Bien ban" in m] and len(inbox) == 1
        assert served.healthz()["protection"]["scoring"]["status"] == "on"
        told = [m for m in folder(served, admin, "INBOX", admin_password) if b"rspamd" in m]
        assert len(told) == 1 and b"is not answering" in told[0]
    finally:
        own.stop()


def test_on_failure_accept_delivers_marked_unscanned(
    start: Callable[..., Served], engines: Engines, dns_env: dict[str, str]
) -> None:
    gone = engines.new_rspamd("rspamd-never-started")  # its ports answer nothing
    served = start({**dns_env, **engines.env(rspamd=gone, on_failure="accept")})
    minh = served.account()
    code, _ = mx_send(served, f"{minh}@{DOMAIN}", letter(f"{minh}@{DOMAIN}", "Xin chao."))
    assert code == 250
    inbox = folder(served, minh, "INBOX")
    assert len(inbox) == 1 and b"X-HopThu-Scan: unscanned (rspamd failed)" in inbox[0]


def test_r3_1_spam_sent_by_a_hijacked_account_is_held_the_account_locked_operators_told(
    start: Callable[..., Served], engines: Engines, dns_env: dict[str, str], tmp_path: Path, database_url: str
) -> None:
    cli = Cli(tmp_path / "data", database_url)
    admin, admin_password = operator(cli)
    served = start({**dns_env, **engines.env()})
    minh, lan = served.account(), served.account("Lan", "Trần", "Thị")
    data = (
        f"From: {minh}@{DOMAIN}\r\nTo: {lan}@{DOMAIN}\r\nSubject: Khuyen mai\r\nMessage-ID: <held@x>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMua ngay. {JUNK_MARKER}\r\n"
    ).encode()
    with smtplib.SMTP_SSL("127.0.0.1", served.port("submissions"), context=client_tls(), timeout=60) as smtp:
        smtp.login(minh, PASSWORD)
        with pytest.raises(smtplib.SMTPDataError) as held:
            smtp.sendmail(f"{minh}@{DOMAIN}", [f"{lan}@{DOMAIN}"], data)
    assert held.value.smtp_code == 550 and held.value.smtp_error.startswith(b"5.7.1")
    assert folder(served, lan, "INBOX") == []  # held, not delivered
    with (
        smtplib.SMTP_SSL("127.0.0.1", served.port("submissions"), context=client_tls(), timeout=60) as smtp,
        pytest.raises(smtplib.SMTPAuthenticationError),
    ):
        smtp.login(minh, PASSWORD)  # R3.1: the account is locked
    inbox = folder(served, admin, "INBOX", admin_password)
    told = [m for m in inbox if b"was held" in (email.message_from_bytes(m).get_payload(decode=True) or b"")]
    assert len(told) == 1
    deadline = time.monotonic() + 30  # a refused or held message's log entry is written within a second
    while True:
        with sqlite3.connect(tmp_path / "data" / "hopthu.db") as db:
            rows = db.execute("SELECT status, verdict, score >= 10 FROM quarantine").fetchall()
            logged = db.execute("SELECT outcome FROM mail_log WHERE message_id LIKE '%held@x%'").fetchall()
        if logged or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert rows == [("held", "spam", 1)] and logged == [("held",)]
