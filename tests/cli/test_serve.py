"""`hopthu serve` as a process: listens, answers /healthz with the store's state, stops on SIGTERM."""

from __future__ import annotations

import contextlib
import http.client
import imaplib
import json
import os
import poplib
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from tests.cli.conftest import Cli

PORTS = [
    *("--http-port", "0", "--https-port", "0", "--smtp-port", "0"),
    *("--submission-port", "0", "--submissions-port", "0"),
    *("--imap-port", "0", "--imaps-port", "0", "--pop3-port", "0", "--pop3s-port", "0"),
]


def start(cli: Cli, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict[str, str]]:
    """`hopthu serve` on free ports; returns the process and the URL of each listener it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hopthu", "--data", str(cli.data), "serve", *PORTS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.match(r"(\w+): (\S+://\S+)", line)
        if found:
            urls[found.group(1)] = found.group(2)
        elif urls:
            return process, urls
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.stderr.read()}")
    process.kill()
    raise AssertionError("serve did not print its URLs")


def test_serve_answers_healthz_and_stops_cleanly_on_sigterm(cli: Cli) -> None:
    cli.init()
    process, urls = start(cli)
    assert set(urls) == {
        "http",
        "https",
        "smtp",
        "submission",
        "submissions",
        "imap",
        "imaps",
        "pop3",
        "pop3s",
        "metrics",
    }
    try:
        with urllib.request.urlopen(urls["http"] + "healthz", timeout=10) as response:
            report = json.loads(response.read())
            assert response.status == 200
        assert report["status"] == "ok"
        assert report["store"]["database"]["status"] == "ok"
        assert report["store"]["database"]["backend"] == cli.database_url.split(":")[0].split("+")[0]
        assert report["store"]["blobs"]["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code == 0
    assert "Traceback" not in process.stderr.read()


def test_port_in_use_is_a_clear_error(cli: Cli) -> None:
    cli.init()
    first, urls = start(cli)
    try:
        port = urls["http"].rsplit(":", 1)[1].strip("/")
        second = cli("serve", *PORTS[2:], "--http-port", port)
        assert second.code == 1 and port in second.err and "Lỗi" in second.err
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)


def test_serve_before_init_is_refused(cli: Cli) -> None:
    result = cli("serve")
    assert result.code == 1 and "hopthu init" in result.err


GRACE = 3  # seconds, `server.shutdown_grace_seconds` for the test below
PASSWORD = "Hop-Thu-2026"


def _person(cli: Cli) -> str:
    """An agency and one person whose password is set; their address's local part."""
    cli("agency", "add", "--name", "Sở Nội vụ")
    name = ("--family", "Nguyễn", "--middle", "Văn", "--given", "Minh", "--agency", "sonv")
    made = cli("account", "add", *name, "--json").json()
    login = made["address"].split("@")[0]
    passwords = f"{made['temporary_password']}\n{PASSWORD}\n"
    assert cli("account", "change-password", login, stdin=passwords).code == 0
    return login


def _port(urls: dict[str, str], role: str) -> int:
    return int(urls[role].rstrip("/").rsplit(":", 1)[1])


def _web_session(port: int, login: str) -> str:
    """Signs in as a browser does (the form's token and cookie); the session cookie, `name=value`."""
    web = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    web.request("GET", "/dang-nhap")
    answer = web.getresponse()
    form_cookie = answer.getheader("set-cookie", "").split(";")[0]
    token = re.search(r'name="csrf" value="([^"]+)"', answer.read().decode())
    assert token
    body = urllib.parse.urlencode({"login": login, "password": PASSWORD, "csrf": token[1]})
    headers = {"Cookie": form_cookie, "Content-Type": "application/x-www-form-urlencoded"}
    web.request("POST", "/dang-nhap", body=body, headers=headers)
    answer = web.getresponse()
    answer.read()
    assert answer.status == 303
    web.close()
    return answer.getheader("set-cookie", "").split(";")[0]


def test_sigterm_ends_serve_within_its_grace_whatever_is_open(cli: Cli) -> None:
    """Live pages, keep-alive HTTP, IMAP IDLE, an IMAP client that stopped reading a large FETCH,
    SMTP sessions idle and in the middle of DATA, POP3: SIGTERM still ends the process, cleanly."""
    cli.init()
    login = _person(cli)
    env = {
        "HOPTHU_SERVER_WEB_URL": "http://127.0.0.1",  # plain cookie names over plain http
        "HOPTHU_IMAP_ALLOW_PLAIN_LOGIN_ON_LOOPBACK": "true",
        "HOPTHU_SERVER_SHUTDOWN_GRACE_SECONDS": str(GRACE),
    }
    process, urls = start(cli, env=env)
    opened: list[socket.socket | http.client.HTTPConnection] = []
    try:
        with smtplib.SMTP("127.0.0.1", _port(urls, "smtp"), timeout=30) as mx:
            line = b"x" * 998 + b"\r\n"
            for n in range(60):  # 6 MB to FETCH: more than the socket buffers hold
                body = b"Subject: %d\r\n\r\n" % n + line * 100
                mx.sendmail("ban@example.org", [f"{login}@cantho.gov.vn"], body)
        session = _web_session(_port(urls, "http"), login)
        page = http.client.HTTPConnection("127.0.0.1", _port(urls, "http"), timeout=30)
        page.request("GET", "/thu", headers={"Cookie": session})
        page.getresponse().read()  # a kept-alive connection, idle
        live = http.client.HTTPConnection("127.0.0.1", _port(urls, "http"), timeout=30)
        live.request("GET", "/su-kien", headers={"Cookie": session})
        events = live.getresponse()
        assert events.status == 200 and events.getheader("content-type", "").startswith("text/event-stream")
        opened += [page, live]

        idle = imaplib.IMAP4("127.0.0.1", _port(urls, "imap"), timeout=30)
        idle.login(login, PASSWORD)
        idle.select("INBOX")
        idle.send(b"i1 IDLE\r\n")
        assert idle.readline().startswith(b"+ ")

        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", _port(urls, "imap")))
        replies = stalled.makefile("rb")
        replies.readline()
        sign_in = b"LOGIN %s %s" % (login.encode(), PASSWORD.encode())
        for tag, command in ((b"a", sign_in), (b"b", b"SELECT INBOX")):
            stalled.sendall(tag + b" " + command + b"\r\n")
            while not replies.readline().startswith(tag + b" OK"):
                pass
        stalled.sendall(b"c FETCH 1:* BODY.PEEK[]\r\n")  # and never read again
        opened.append(stalled)

        between = smtplib.SMTP("127.0.0.1", _port(urls, "smtp"), timeout=30)
        between.ehlo("example.org")
        sending = smtplib.SMTP("127.0.0.1", _port(urls, "smtp"), timeout=30)
        sending.ehlo("example.org")
        sending.mail("ban@example.org")
        sending.rcpt(f"{login}@cantho.gov.vn")
        sending.putcmd("data")
        assert sending.getreply()[0] == 354
        sending.send(b"Subject: half\r\n\r\nhalf a message, its end never sent\r\n")

        pop = poplib.POP3("127.0.0.1", _port(urls, "pop3"), timeout=30)
        pop.user(login)
        pop.pass_(PASSWORD)
    finally:
        process.send_signal(signal.SIGTERM)
        # bounded: a process that does not stop fails the test instead of hanging it
        code = process.wait(timeout=GRACE + 60)
    assert code == 0, process.stderr.read()
    assert "Traceback" not in process.stderr.read()
    assert idle.readline().startswith(b"* BYE")  # RFC 9051 §7.1.5
    assert between.getreply()[0] == 421  # RFC 5321 §3.8
    for connection in (idle, between, sending, pop, *opened):
        with contextlib.suppress(Exception):
            connection.close()
