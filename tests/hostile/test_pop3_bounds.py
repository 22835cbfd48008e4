"""POP3 against hostile clients, on a real `hopthu serve`: command lines are bounded by RFC 2449 §4
(255 octets with CRLF), an over-long one is answered -ERR with words, repeated abuse or a line that
never ends closes the connection, before and after sign-in; an honest client keeps its mail meanwhile.
Before: lines of up to 64 KiB were read and answered as commands."""

from __future__ import annotations

import poplib
import smtplib
import socket
import ssl
import time
from email.message import EmailMessage

from tests.hostile.conftest import PASSWORD, Served, client_tls


def deliver(served: Served, local: str) -> None:
    message = EmailMessage()
    message["From"] = "ban@example.org"
    message["To"] = f"{local}@cantho.gov.vn"
    message["Subject"] = "Chao"
    message.set_content("Noi dung / content")
    with smtplib.SMTP("127.0.0.1", served.port("smtp"), timeout=30) as smtp:
        smtp.send_message(message)


def honest(served: Served, local: str) -> poplib.POP3_SSL:
    client = poplib.POP3_SSL("127.0.0.1", served.port("pop3s"), context=client_tls(), timeout=30)
    client.user(local)
    client.pass_(PASSWORD)
    return client


def still_served(client: poplib.POP3_SSL) -> None:
    assert client.stat()[0] == 1
    assert b"Subject: Chao" in b"\r\n".join(client.retr(1)[1])


class Raw:
    def __init__(self, served: Served) -> None:
        plain = socket.create_connection(("127.0.0.1", served.port("pop3s")), timeout=10)
        self.sock: ssl.SSLSocket = client_tls().wrap_socket(plain)
        self.reader = self.sock.makefile("rb")
        assert self.reader.readline().startswith(b"+OK")

    def say(self, line: bytes) -> bytes:
        self.sock.sendall(line)
        return self.reader.readline()

    def rest(self) -> list[bytes]:
        """Every line until the server closes; "still open" when it did not within the timeout."""
        heard = []
        try:
            while line := self.reader.readline():
                heard.append(line)
        except TimeoutError:
            heard.append(b"still open")
        except OSError:  # a reset: the server closed with bytes of ours unread
            pass
        return heard


def test_long_lines_are_refused_before_and_after_sign_in(served: Served) -> None:
    person = served.account()
    other = served.account(given="Lan", family="Trần", middle="Thị")
    deliver(served, person)
    deliver(served, other)
    watcher = honest(served, other)

    before = Raw(served)
    answer = before.say(b"USER " + b"x" * 300 + b"\r\n")
    assert answer.startswith(b"-ERR") and "quá dài".encode() in answer and b"255" in answer, answer
    assert before.say(b"CAPA\r\n").startswith(b"+OK")  # the session goes on
    before.reader.readline()
    while before.reader.readline() != b".\r\n":
        pass
    assert before.say(b"NOOP " + b"y" * 1000 + b"\r\n").startswith(b"-ERR")
    assert before.say(b"NOOP " + b"z" * 1000 + b"\r\n").startswith(b"-ERR")  # the third: closing
    assert before.rest() == []
    still_served(watcher)

    after = Raw(served)
    assert after.say(f"USER {person}\r\n".encode()).startswith(b"+OK")
    assert after.say(f"PASS {PASSWORD}\r\n".encode()).startswith(b"+OK")
    assert after.say(b"LIST " + b"1" * 400 + b"\r\n").startswith(b"-ERR")
    assert after.say(b"RETR 1\r\n").startswith(b"+OK")  # still its mail after one long line
    while after.reader.readline() != b".\r\n":
        pass
    after.sock.close()
    still_served(watcher)

    # A line that never ends: thrown away up to 64 KiB, then the connection closes.
    endless = Raw(served)
    started = time.monotonic()
    try:
        for _ in range(64):  # up to 4 MiB without a line end
            endless.sock.sendall(b"x" * 65536)
    except OSError:
        pass
    heard = endless.rest()
    assert len(heard) <= 1 and all(line.startswith(b"-ERR") for line in heard), heard
    assert time.monotonic() - started < 15
    still_served(watcher)
    watcher.quit()
    assert served.alive()
