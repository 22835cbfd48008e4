"""`hopthu serve --workers N`: processes sharing the listening sockets on PostgreSQL, refused on
SQLite; real SMTP and IMAP clients, a worker killed and replaced, SIGTERM ending them all."""

from __future__ import annotations

import imaplib
import os
import re
import signal
import smtplib
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_serve import PORTS

PASSWORD = "MatKhau-2026!"


def prepare(cli: Cli, tmp_path: Path) -> dict[str, str]:
    """A city with one person whose password is their own; the environment naming the DNS answers."""
    cli.init()
    dns = tmp_path / "dns.toml"
    dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
    cli("agency", "add", "--name", "Sở Nội vụ")
    made = cli(
        "account",
        "add",
        "--family",
        "Nguyễn",
        "--middle",
        "Văn",
        "--given",
        "Minh",
        "--agency",
        "sonv",
        "--json",
    )
    temporary = made.json()["temporary_password"]
    changed = cli("account", "change-password", "nvminh", stdin=f"{temporary}\n{PASSWORD}\n")
    assert changed.code == 0, changed.err
    return {"HOPTHU_SMTP_DNS_FILE": str(dns)}


def start(cli: Cli, env: dict[str, str], count: int) -> tuple[subprocess.Popen, dict[str, str]]:
    """`hopthu serve --workers count` on free ports; the process and the URL of each listener, once
    every worker serves (they start one after another, so this waits longer than one server)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hopthu", "--data", str(cli.data), "serve", *PORTS, "--workers", str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    assert process.stdout is not None
    urls: dict[str, str] = {}
    for line in process.stdout:  # ends if the process does
        found = re.match(r"(\w+): (\S+://\S+)", line)
        if found:
            urls[found.group(1)] = found.group(2)
        elif urls:
            return process, urls
    raise AssertionError(f"serve exited: {process.stderr.read() if process.stderr else ''}")


def workers_of(pid: int) -> set[int]:
    """The processes `pid` started (its workers), as Linux lists them."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()


def alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie, ended but not yet reaped, counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def send(port: int, subject: str) -> None:
    """One message over a connection of its own."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(
            "ban@example.org",
            ["nvminh@cantho.gov.vn"],
            f"From: ban@example.org\r\nTo: nvminh@cantho.gov.vn\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.org>\r\n\r\nNoi dung {subject}\r\n".encode(),
        )


def subjects(port: int) -> set[str]:
    """The INBOX's subjects, read over a connection of its own."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # `hopthu init`'s own certificate
    with imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=tls, timeout=30) as client:
        client.login("nvminh", PASSWORD)
        client.select("INBOX", readonly=True)
        _, data = client.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        found = {part[1].decode().split(":", 1)[1].strip() for part in data if isinstance(part, tuple)}
        client.logout()
    return found


def test_workers_are_refused_on_sqlite(cli: Cli) -> None:
    if not cli.database_url.startswith("sqlite"):
        pytest.skip("SQLite's refusal")
    cli.init()
    result = cli("serve", *PORTS, "--workers", "2")
    assert result.code == 1
    assert (
        "PostgreSQL" in result.err
        and "một tiến trình ghi" in result.err
        and "one process write" in result.err
    )


def test_workers_share_the_listeners_survive_a_kill_and_stop_together(cli: Cli, tmp_path) -> None:
    if not cli.database_url.startswith("postgresql"):
        pytest.skip("--workers runs on PostgreSQL")
    env = prepare(cli, tmp_path)
    process, urls = start(cli, env, 2)
    smtp_port = int(urls["smtp"].rsplit(":", 1)[1])
    imap_port = int(urls["imaps"].rsplit(":", 1)[1])
    try:
        first = workers_of(process.pid)
        assert len(first) == 2
        for number in range(6):
            send(smtp_port, f"truoc-{number}")
        for _ in range(3):
            assert subjects(imap_port) == {f"truoc-{n}" for n in range(6)}

        killed = min(first)
        os.kill(killed, signal.SIGKILL)
        send(smtp_port, "sau")  # the other worker serves meanwhile
        assert "sau" in subjects(imap_port)
        deadline = time.monotonic() + 60
        while (len(workers_of(process.pid)) < 2 or killed in workers_of(process.pid)) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.2)
        now = workers_of(process.pid)
        assert len(now) == 2 and killed not in now and max(first) in now  # replaced, the other kept
        for _ in range(3):
            assert len(subjects(imap_port)) == 7
    finally:
        every = workers_of(process.pid)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=90)
    assert code == 0
    assert not any(alive(pid) for pid in every)
    assert "Traceback" not in process.stderr.read()
