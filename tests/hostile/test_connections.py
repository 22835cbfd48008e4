"""Connection limits on every listener: a client holding its share of connections is refused the
next one in the protocol's own words, and a connection closed lets a new one in.

In these tests every client is 127.0.0.1, so the limits are set small through `HOPTHU_LIMITS_*`.
Before the limits existed, the refused connection below was greeted like every other one.
"""

from __future__ import annotations

import imaplib
import poplib
import smtplib
import socket
import ssl
import time
import urllib.request
from collections.abc import Callable

import pytest

from tests.hostile.conftest import PASSWORD, Served, client_tls

HELD = 3
# role -> (kind in the settings, greeting of an admitted connection, start of the refusal)
ROLES: dict[str, tuple[str, bytes, bytes]] = {
    "smtp": ("mx", b"220 ", b"421 4.7.0 "),
    "submission": ("submission", b"220 ", b"421 4.7.0 "),
    "submissions": ("submission", b"220 ", b"421 4.7.0 "),
    "imap": ("imap", b"* OK ", b"* BYE "),
    "imaps": ("imap", b"* OK ", b"* BYE "),
    "pop3": ("pop3", b"+OK ", b"-ERR [SYS/TEMP] "),
    "pop3s": ("pop3", b"+OK ", b"-ERR [SYS/TEMP] "),
    "http": ("http", b"HTTP/1.1 200 ", b"HTTP/1.1 503 "),
}
KINDS = ("mx", "submission", "imap", "pop3", "http")


def limits_env(per_address: int, total: int) -> dict[str, str]:
    env = {}
    for kind in KINDS:
        env[f"HOPTHU_LIMITS_{kind.upper()}_CONNECTIONS_PER_ADDRESS"] = str(per_address)
        env[f"HOPTHU_LIMITS_{kind.upper()}_CONNECTIONS"] = str(total)
    return env


def connect(served: Served, role: str) -> tuple[socket.socket, bytes]:
    """A connection and the first line the server sent on it (for HTTP: the status line of /healthz)."""
    sock: socket.socket = socket.create_connection(("127.0.0.1", served.port(role)), timeout=10)
    if role in ("submissions", "imaps", "pop3s"):
        sock = client_tls().wrap_socket(sock)
    if role == "http":
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return sock, read_line(sock)


def read_line(sock: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\n"):
        piece = sock.recv(1)
        if not piece:
            break
        line += piece
    return line


def closed_by_server(sock: socket.socket) -> bool:
    """The server closes after its refusal: the socket reaches its end (or a reset) within seconds."""
    sock.settimeout(10)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, ssl.SSLError):
        pass
    return True


def admitted_again(served: Served, role: str, greeting: bytes) -> socket.socket:
    """A new connection once a held one is closed (the server counts the close as it sees it)."""
    deadline = time.monotonic() + 10
    while True:
        sock, first = connect(served, role)
        if first.startswith(greeting) or time.monotonic() > deadline:
            assert first.startswith(greeting), first
            return sock
        sock.close()
        time.sleep(0.2)


def honest_session(served: Served, role: str, local: str) -> None:
    """A real client doing real work over the protocol of `role`."""
    if role in ("smtp", "submission", "submissions"):
        if role == "smtp":
            with smtplib.SMTP("127.0.0.1", served.port(role), timeout=10) as client:
                client.sendmail(
                    "ban@example.org", [f"{local}@cantho.gov.vn"], b"Subject: chao\r\n\r\nxin chao\r\n"
                )
            return
        maker = smtplib.SMTP_SSL if role == "submissions" else smtplib.SMTP
        extra = {"context": client_tls()} if role == "submissions" else {}
        with maker("127.0.0.1", served.port(role), timeout=10, **extra) as client:
            if role == "submission":
                client.starttls(context=client_tls())
            client.login(local, PASSWORD)
            assert client.noop()[0] == 250
        return
    if role in ("imap", "imaps"):
        if role == "imaps":
            imap = imaplib.IMAP4_SSL("127.0.0.1", served.port(role), ssl_context=client_tls(), timeout=10)
        else:
            imap = imaplib.IMAP4("127.0.0.1", served.port(role), timeout=10)
            imap.starttls(client_tls())
        imap.login(local, PASSWORD)
        assert imap.select("INBOX")[0] == "OK"
        imap.logout()
        return
    if role in ("pop3", "pop3s"):
        if role == "pop3s":
            pop = poplib.POP3_SSL("127.0.0.1", served.port(role), context=client_tls(), timeout=10)
        else:
            pop = poplib.POP3("127.0.0.1", served.port(role), timeout=10)
            pop.stls(client_tls())
        pop.user(local)
        pop.pass_(PASSWORD)
        assert pop.stat()[0] >= 0
        pop.quit()
        return
    with urllib.request.urlopen(served.http + "/dang-nhap", timeout=10) as response:
        assert response.status == 200


def check_limit(served: Served, role: str, local: str) -> None:
    """HELD connections are admitted, the next is refused in the protocol's words and closed; one
    closed makes room for a new one, and with another closed an honest client gets its full session
    while the rest stay held."""
    _kind, greeting, refusal = ROLES[role]
    held = []
    try:
        for _ in range(HELD):
            sock, first = connect(served, role)
            held.append(sock)
            assert first.startswith(greeting), (role, first)
        sock, first = connect(served, role)
        assert first.startswith(refusal), (role, first)
        if role != "http":  # HTTP's words are in the body
            assert b"Too many connections" in first, first
        assert closed_by_server(sock)
        sock.close()
        held.pop().close()
        held.append(admitted_again(served, role, greeting))  # a closed connection makes room
        held.pop(0).close()
        time.sleep(0.5)  # the server counts the close when it sees it
        honest_session(served, role, local)  # beside HELD - 1 connections still held
    finally:
        for sock in held:
            sock.close()


@pytest.fixture
def limited(start: Callable[..., Served]) -> Callable[[int, int], tuple[Served, str]]:
    def launch(per_address: int, total: int) -> tuple[Served, str]:
        served = start(limits_env(per_address, total))
        return served, served.account()

    return launch


def test_per_address_limit_on_every_listener(limited: Callable[[int, int], tuple[Served, str]]) -> None:
    served, local = limited(HELD, 10_000)
    for role in ("smtp", "submission", "imap", "imaps", "pop3", "pop3s", "http", "submissions"):
        check_limit(served, role, local)
    assert served.alive()


def test_total_limit_on_every_listener(limited: Callable[[int, int], tuple[Served, str]]) -> None:
    served, local = limited(10_000, HELD)
    for role in ("smtp", "imap", "pop3s", "http", "submission"):
        check_limit(served, role, local)
    assert served.alive()


def test_the_two_ports_of_a_protocol_share_its_limit(
    limited: Callable[[int, int], tuple[Served, str]],
) -> None:
    """IMAP on 143 and 993 count together: a client cannot double its share by using both."""
    served, _local = limited(2, 10_000)
    first, greeting = connect(served, "imap")
    second, greeting2 = connect(served, "imaps")
    third, refusal = connect(served, "imap")
    try:
        assert greeting.startswith(b"* OK") and greeting2.startswith(b"* OK")
        assert refusal.startswith(b"* BYE ")
    finally:
        for sock in (first, second, third):
            sock.close()
