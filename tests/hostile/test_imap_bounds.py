"""IMAP against hostile clients, on a real `hopthu serve`: what one client sends costs the server
bounded time and memory, before and after sign-in, while an honest client keeps being served.

Before these bounds: `LIST "" "*********Z"` took 7 s of the one event loop against a 40-character
folder name (each further star multiplied it); a command continued with "{0+}" lines grew without
limit before sign-in; a 40 MiB synchronising literal was invited with "+" before sign-in.
"""

from __future__ import annotations

import imaplib
import time

from tests.hostile.conftest import PASSWORD, Served, client_tls
from tests.imap.rawclient import RawClient

FOLDER = "a" * 40


def raw(served: Served) -> RawClient:
    """A byte-exact client over implicit TLS, greeted."""
    client = RawClient(served.port("imaps"), tls=True)
    assert client.greeting.startswith(b"* OK")
    return client


def honest(served: Served, local: str) -> imaplib.IMAP4_SSL:
    client = imaplib.IMAP4_SSL("127.0.0.1", served.port("imaps"), ssl_context=client_tls(), timeout=30)
    client.login(local, PASSWORD)
    return client


def still_served(client: imaplib.IMAP4_SSL) -> None:
    """The honest session fetches and searches as usual."""
    assert client.select("INBOX")[0] == "OK"
    status, found = client.search(None, "ALL")
    assert status == "OK" and found[0].split() == [b"1"]
    status, data = client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert status == "OK" and b"Chao" in data[0][1]


def prepared(served: Served) -> tuple[str, imaplib.IMAP4_SSL]:
    """A person with one message and a folder of 40 characters; the honest session of another."""
    person = served.account()
    other = served.account(given="Lan", family="Trần", middle="Thị")
    client = honest(served, other)
    message = b"From: a@example.org\r\nSubject: Chao\r\n\r\nNoi dung\r\n"
    assert client.append("INBOX", None, None, message)[0] == "OK"
    mine = honest(served, person)
    assert mine.create(FOLDER)[0] == "OK"
    mine.logout()
    return person, client


def test_list_wildcards_take_linear_time(served: Served) -> None:
    person, other = prepared(served)
    attacker = raw(served)
    attacker.send(f"a LOGIN {person} {PASSWORD}\r\n".encode())
    assert b"a OK" in attacker.receive_until(b"a OK")
    for tag, stars in ((b"b", 9), (b"c", 12), (b"d", 2000)):
        started = time.monotonic()
        attacker.send(tag + b' LIST "" "' + b"*" * stars + b'Z"\r\n')
        answer = attacker.receive_until(tag + b" OK")
        took = time.monotonic() - started
        assert tag + b" OK" in answer and b"* LIST" not in answer, answer
        assert took < 2, (stars, took)  # 9 stars took 7 s before, 12 stars far longer
        still_served(other)
    # The matcher still matches: "%" stops at the separator, "*" does not.
    attacker.send(b'e LIST "" "*a"\r\nf LIST "" "%/%"\r\n')
    assert f'"{FOLDER}"'.encode() in attacker.receive_until(b"e OK")
    assert b"* LIST" not in attacker.receive_until(b"f OK")
    attacker.close()
    other.logout()
    assert served.alive()


def test_continuation_lines_before_login_are_bounded(served: Served) -> None:
    _person, other = prepared(served)
    attacker = raw(served)
    attacker.send(b"a LOGIN {0+}\r\n")
    line = b"x" * 1000 + b" {0+}\r\n"
    sent = 0
    for _ in range(200):
        if attacker.has_answer() or not attacker.send(line):
            break
        sent += len(line)
        time.sleep(0.005)
    answer = attacker.receive_until(b"* BYE")
    assert b"a NO [TOOBIG]" in answer and b"* BYE [LIMIT]" in answer, answer
    assert sent < 64 * 1024, sent  # refused at 8 KiB (the setting), not after 200 lines (12 MB before)
    assert attacker.eof()
    still_served(other)
    other.logout()
    assert served.alive()


def test_big_literals_before_login_are_not_invited(served: Served) -> None:
    _person, other = prepared(served)
    attacker = raw(served)
    attacker.send(b"a LOGIN {41943040}\r\n")  # 40 MiB, synchronising: the client waits for "+"
    answer = attacker.receive_until(b"\r\n")
    assert answer.startswith(b"a NO [TOOBIG]"), answer  # instead of "+ Ready"
    attacker.send(b"b CAPABILITY\r\n")  # the connection goes on: nothing of the literal was sent
    assert b"b OK" in attacker.receive_until(b"b OK")
    still_served(other)

    # Non-synchronising (RFC 7888): its bytes come anyway, so the server answers and hangs up.
    attacker.send(b"c LOGIN {41943040+}\r\n" + b"z" * 65536)
    answer = attacker.receive_until(b"* BYE")
    assert b"c NO [TOOBIG]" in answer and b"* BYE [LIMIT]" in answer, answer
    assert attacker.eof()
    still_served(other)
    other.logout()
    assert served.alive()


def test_a_whole_command_is_bounded_after_login(served: Served) -> None:
    person, other = prepared(served)
    attacker = raw(served)
    attacker.send(f"a LOGIN {person} {PASSWORD}\r\n".encode())
    assert b"a OK" in attacker.receive_until(b"a OK")
    attacker.send(b"b SELECT INBOX\r\n")
    assert b"b OK" in attacker.receive_until(b"b OK")
    # A 2 MiB literal fits APPEND's limit but no other command: no "+" is offered for it.
    attacker.send(b"c SEARCH TEXT {2097152}\r\n")
    answer = attacker.receive_until(b"\r\n")
    assert answer.startswith(b"c NO [TOOBIG]"), answer
    # Growing one command line by line ("{0+}") ends at the bound too, and the client is still served.
    attacker.send(b"d SEARCH TEXT {0+}\r\n")
    chunk = (b"x" * 60000 + b" TEXT {0+}\r\n") * 4
    for _ in range(6):  # 1.4 MB in all: beyond the 1 MiB a command may hold
        attacker.send(chunk)
    attacker.send(b"\r\n")
    answer = attacker.receive_until(b"d NO")
    assert b"d NO [TOOBIG]" in answer, answer
    attacker.send(b"e NOOP\r\n")
    assert b"e OK" in attacker.receive_until(b"e OK")
    still_served(other)
    # APPEND keeps its own, larger limit.
    message = b"From: a@example.org\r\nSubject: Lon\r\n\r\n" + b"y" * (2 * 1024 * 1024) + b"\r\n"
    mine = honest(served, person)
    assert mine.append("INBOX", None, None, message)[0] == "OK"
    mine.logout()
    attacker.close()
    other.logout()
    assert served.alive()
