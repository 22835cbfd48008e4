"""A connection that does not sign in (or, on the MX, reach MAIL FROM) within the pre-login timeout
is told so in its protocol's words and closed, even if it drips bytes to look busy; a client that
signed in in time keeps its session.

The timeout is set to 2 s here. Before it existed, such a connection was kept for 120 s (IMAP,
reset by every byte), 10 minutes (POP3) or 5 minutes per command (SMTP).
"""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.hostile.conftest import PASSWORD, Served, client_tls

TIMEOUT = 2.0
BOUND = 8.0  # the timeout, the drip interval and a loaded machine's slack; before: minutes

# role -> (greeting, the line that closes an expired connection)
ROLES = {
    "smtp": (b"220 ", b"421 4.4.2 "),
    "submission": (b"220 ", b"421 4.4.2 "),
    "submissions": (b"220 ", b"421 4.4.2 "),
    "imap": (b"* OK ", b"* BYE "),
    "imaps": (b"* OK ", b"* BYE "),
    "pop3": (b"+OK ", b"-ERR "),
    "pop3s": (b"+OK ", b"-ERR "),
}
# Something a client could send forever without signing in: a valid command that changes nothing.
DRIP = {
    "smtp": b"NOOP\r\n",
    "submission": b"NOOP\r\n",
    "submissions": b"NOOP\r\n",
    "imap": b"a NOOP\r\n",
    "imaps": b"a NOOP\r\n",
    "pop3": b"NOOP\r\n",
    "pop3s": b"NOOP\r\n",
}


@pytest.fixture
def serve_env() -> dict[str, str]:
    return {"HOPTHU_LIMITS_PRELOGIN_TIMEOUT_SECONDS": str(TIMEOUT)}


def _connect(served: Served, role: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port(role)), timeout=BOUND + 5)
    if role in ("submissions", "imaps", "pop3s"):
        sock = client_tls().wrap_socket(sock)
    return sock


def _read_all(sock: socket.socket, deadline: float, drip: bytes | None) -> bytes:
    """Everything the server sends until it closes, sending `drip` every half second meanwhile."""
    received = b""
    sock.settimeout(0.5)
    while time.monotonic() < deadline:
        try:
            piece = sock.recv(4096)
        except TimeoutError:
            if drip is not None:
                try:
                    sock.sendall(drip)
                except OSError:
                    return received
            continue
        except (ConnectionResetError, ssl.SSLError):
            return received
        if not piece:
            return received
        received += piece
    raise AssertionError(f"still open after {BOUND} s: {received!r}")


def _expired(served: Served, role: str, drip: bool) -> tuple[bytes, float]:
    """What a connection to `role` that never signs in receives, and how long until it is closed."""
    sock = _connect(served, role)
    try:
        started = time.monotonic()
        text = _read_all(sock, started + BOUND, DRIP[role] if drip else None)
        return text, time.monotonic() - started
    finally:
        sock.close()


@pytest.mark.parametrize("drip", [False, True], ids=["silent", "dripping"])
def test_a_connection_that_does_not_sign_in_is_closed(served: Served, drip: bool) -> None:
    # Every listener at once: each connection waits out the same timeout.
    with ThreadPoolExecutor(len(ROLES)) as pool:
        expired = dict(zip(ROLES, pool.map(lambda role: _expired(served, role, drip), ROLES), strict=True))
    for role, (greeting, closing) in ROLES.items():
        text, elapsed = expired[role]
        lines = text.split(b"\r\n")
        assert lines[0].startswith(greeting), (role, text)
        last = [line for line in lines if line][-1]
        assert last.startswith(closing), (role, text)
        assert b"/" in last  # Vietnamese / English
        assert TIMEOUT - 0.5 <= elapsed < BOUND, (role, elapsed)
    assert served.alive()
    if drip:
        signed_in_in_time_keeps_its_session(served)


def test_a_tls_handshake_that_never_starts_is_dropped(served: Served) -> None:
    """On 465, 993 and 995 the connection is counted once TLS is up; until then it has the same time."""
    for role in ("submissions", "imaps", "pop3s"):
        with socket.create_connection(("127.0.0.1", served.port(role)), timeout=BOUND + 5) as sock:
            started = time.monotonic()
            assert _read_all(sock, started + BOUND, None) == b""
            assert time.monotonic() - started < BOUND
    assert served.alive()


def test_an_http_request_head_not_sent_in_time_gets_408(served: Served) -> None:
    """Slow headers (one line every half second, never the blank line that ends them) and silence."""
    for drip in (b"X-Slow: 1\r\n", None):
        with socket.create_connection(("127.0.0.1", served.port("http")), timeout=BOUND + 5) as sock:
            sock.sendall(b"GET /dang-nhap HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            started = time.monotonic()
            text = _read_all(sock, started + BOUND, drip)
        assert text.startswith(b"HTTP/1.1 408 "), text
        assert TIMEOUT - 0.5 <= time.monotonic() - started < BOUND
    with socket.create_connection(("127.0.0.1", served.port("http")), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        time.sleep(TIMEOUT + 1)  # a request made in time is answered, however long it then waits
        assert sock.recv(100).startswith(b"HTTP/1.1 200 ")


def signed_in_in_time_keeps_its_session(served: Served) -> None:
    """The honest side: IMAP signed in and the MX past MAIL FROM outlive the timeout."""
    local = served.account()
    imap = imaplib.IMAP4("127.0.0.1", served.port("imap"), timeout=10)
    imap.starttls(client_tls())
    imap.login(local, PASSWORD)
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=10) as mx:
        mx.ehlo("mx.example.org")
        assert mx.mail("ban@example.org")[0] == 250
        time.sleep(TIMEOUT + 1.5)
        assert mx.rcpt(f"{local}@cantho.gov.vn")[0] == 250
        assert mx.data(b"Subject: kip gio\r\n\r\nden dung gio\r\n")[0] == 250
    assert imap.select("INBOX")[0] == "OK"
    assert imap.noop()[0] == "OK"
    imap.logout()
