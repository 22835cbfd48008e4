"""Long lines over SMTP: what Postfix and Dovecot deliver (a document system's whole HTML page on one
line) is accepted and stored byte for byte, folded to 998 octets only when relayed to another MTA
(RFC 5322 §2.1.1, RFC 5321 §4.5.3.1.6) with its DKIM signature still valid; past the configured
bounds the line (500) or the message (552) is refused without the server holding it, and the same
connection goes on.

Before, aiosmtpd answered `500 Line too long` to any line over 998 octets.
"""

from __future__ import annotations

import base64
import imaplib
import re
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization

from tests.hostile.conftest import PASSWORD, Served, client_tls
from tests.smtp.test_outbound import FakeMX, RemoteMX, start_mx

MAX_MESSAGE = 2 * 1024 * 1024
MAX_LINE = 100_000


def long_line(octets: int = 5000) -> bytes:
    """An HTML table row as a document system writes it: one line, Vietnamese text, spaces."""
    cell = "<td>Văn bản số 12/UBND gửi các sở</td> ".encode()
    return (cell * (octets // len(cell) + 1))[:octets]


def letter(subject: str, line: bytes) -> bytes:
    return (
        (
            f"From: ban@example.org\r\nTo: someone\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        ).encode()
        + b"<table><tr>"
        + line
        + b"</tr></table>\r\n"
    )


@pytest.fixture
def remote() -> Iterator[tuple[RemoteMX, FakeMX]]:
    """A strict remote MTA (aiosmtpd's defaults: 998 octets a line) for example.org."""
    handler = RemoteMX()
    controller = start_mx(handler)
    yield handler, controller
    controller.stop()


@pytest.fixture
def serve_env(tmp_path: Path, remote: tuple[RemoteMX, FakeMX]) -> dict[str, str]:
    dns = tmp_path / "dns.toml"
    dns.write_text(
        '[mx]\n"example.org" = [[10, "mx.example.org"]]\n[addresses]\n"mx.example.org" = ["127.0.0.1"]\n'
    )
    return {
        "HOPTHU_SMTP_DNS_FILE": str(dns),
        "HOPTHU_SMTP_OUTBOUND_PORT": str(remote[1].port),
        "HOPTHU_SMTP_MAX_MESSAGE_SIZE": str(MAX_MESSAGE),
        "HOPTHU_SMTP_MAX_LINE_BYTES": str(MAX_LINE),
    }


def fetch_all(served: Served, local: str) -> list[bytes]:
    imap = imaplib.IMAP4("127.0.0.1", served.port("imap"), timeout=10)
    imap.starttls(client_tls())
    imap.login(local, PASSWORD)
    imap.select("INBOX", readonly=True)
    found: list[bytes] = []
    status, data = imap.fetch("1:*", "(BODY.PEEK[])")
    if status == "OK":
        found = [item[1] for item in data if isinstance(item, tuple)]
    imap.logout()
    return found


def test_a_5000_octet_line_is_accepted_and_stored_byte_for_byte(served: Served) -> None:
    local = served.account()
    sent = letter("dong dai", long_line())
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=30) as mx:
        mx.ehlo("mx.example.org")
        assert mx.sendmail("ban@example.org", [f"{local}@cantho.gov.vn"], sent) == {}
    stored = fetch_all(served, local)
    assert len(stored) == 1
    assert stored[0].endswith(sent)  # after the Received and Authentication-Results we add, as sent


def test_a_relayed_message_arrives_with_no_line_over_998_and_a_valid_signature(
    served: Served, remote: tuple[RemoteMX, FakeMX]
) -> None:
    local = served.account()
    row = long_line(5000)
    with smtplib.SMTP("127.0.0.1", served.port("submission"), timeout=30) as submission:
        submission.starttls(context=client_tls())
        submission.login(local, PASSWORD)
        sent = letter("gui ra ngoai", row).replace(
            b"From: ban@example.org", f"From: {local}@cantho.gov.vn".encode()
        )
        assert submission.sendmail(f"{local}@cantho.gov.vn", ["ban@example.org"], sent) == {}
    handler = remote[0]
    deadline = time.monotonic() + 60
    while not handler.arrivals and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [a.reply[:3] for a in handler.arrivals] == ["250"]
    arrived = handler.arrivals[0].content
    assert max(len(line) for line in arrived.split(b"\r\n")) <= 998
    assert row in arrived.replace(b"\r\n ", b" ")  # folded before blanks: unfolding gives it back
    key = serialization.load_pem_private_key((served.cli.data / "dkim" / "private.pem").read_bytes(), None)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    assert dkim.verify(arrived, dnsfunc=lambda _name, timeout=5: record)
    # the sender's own copy (Sent) is not what was relayed: nothing of ours is folded in storage
    assert served.alive()


def test_over_the_bounds_the_line_or_message_is_refused_and_the_session_goes_on(served: Served) -> None:
    local = served.account()
    pid = served.process.pid
    before = _peak_rss(pid)
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=60) as mx:
        mx.ehlo("mx.example.org")
        code, text = transaction(mx, local, letter("qua dai", long_line(MAX_LINE + 10)))
        assert code == 500 and b"Line too long" in text
        # No SIZE parameter: the bound must hold while DATA is read, not only when announced.
        huge = letter("qua lon", long_line(5000)) + (long_line(900) + b"\r\n") * (40 * MAX_MESSAGE // 900)
        code, text = transaction(mx, local, huge)
        assert code == 552 and b"5.3.4" in text
        assert transaction(mx, local, letter("vua", long_line()))[0] == 250
    grown = _peak_rss(pid) - before
    assert grown < 40 * MAX_MESSAGE // 2, grown  # 80 MB were sent; the server's peak grew by far less
    assert len(fetch_all(served, local)) == 1


def transaction(mx: smtplib.SMTP, local: str, message: bytes) -> tuple[int, bytes]:
    assert mx.mail("ban@example.org")[0] == 250
    assert mx.rcpt(f"{local}@cantho.gov.vn")[0] == 250
    return mx.data(message)


def _peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
