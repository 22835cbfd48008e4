"""A real `hopthu serve` renews its certificate on SIGHUP (`systemctl reload`): new handshakes on
every TLS listener get the new one, a connection opened before keeps working, a broken file keeps
the old one and the process; with `--workers` the signal reaches every worker."""

from __future__ import annotations

import imaplib
import queue
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hopthu.security.certs import make_self_signed
from tests.cli.conftest import Cli
from tests.cli.test_serve import start
from tests.cli.test_workers import prepare
from tests.cli.test_workers import start as start_workers
from tests.security.test_tls_listeners import common_name, served
from tests.smtp.conftest import insecure_tls

RELOADED = "TLS certificate"
KEPT = "the certificate in use stays"


def log_lines(process: subprocess.Popen) -> queue.Queue[str]:
    """What the process writes to stderr, line by line (read all along so the pipe never fills)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def wait_for(lines: queue.Queue[str], text: str, count: int = 1) -> list[str]:
    """The next `count` log lines containing `text` (a process that never logs them fails the test)."""
    found: list[str] = []
    while len(found) < count:
        try:
            line = lines.get(timeout=60)
        except queue.Empty:
            raise AssertionError(f"the process never logged {text!r}") from None
        if text in line:
            found.append(line)
    return found


def port(urls: dict[str, str], role: str) -> int:
    return int(urls[role].rstrip("/").rsplit(":", 1)[1])


@pytest.fixture
def stopped() -> Iterator[list[subprocess.Popen]]:
    """Processes stopped with SIGTERM at the end of the test, whatever happened."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def test_sighup_renews_the_certificate_of_every_listener(cli: Cli, stopped: list) -> None:
    cli.init()
    process, urls = start(cli)
    stopped.append(process)
    lines = log_lines(process)
    cert, key = cli.data / "tls" / "cert.pem", cli.data / "tls" / "key.pem"
    opened = imaplib.IMAP4_SSL("127.0.0.1", port(urls, "imaps"), ssl_context=insecure_tls(), timeout=30)

    make_self_signed(cert, key, ["renewed.cantho.gov.vn"])
    process.send_signal(signal.SIGHUP)
    wait_for(lines, RELOADED)
    checks = {"smtp": "smtp", "submissions": None, "imap": "imap", "pop3s": None, "https": None}
    for role, starttls in checks.items():
        assert common_name(served(port(urls, role), starttls)) == "renewed.cantho.gov.vn", role
    assert opened.noop()[0] == "OK" and opened.capability()[0] == "OK"  # opened before, still served

    Path(cert).write_text("not a certificate\n")
    process.send_signal(signal.SIGHUP)
    (logged,) = wait_for(lines, KEPT)
    assert "không chứa chứng chỉ PEM" in logged and "ERROR" in logged
    assert common_name(served(port(urls, "imaps"))) == "renewed.cantho.gov.vn"
    assert opened.noop()[0] == "OK"
    opened.logout()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_sighup_to_serve_with_workers_reaches_every_worker(cli: Cli, tmp_path: Path, stopped: list) -> None:
    if not cli.database_url.startswith("postgresql"):
        pytest.skip("--workers runs on PostgreSQL")
    env = prepare(cli, tmp_path)
    process, urls = start_workers(cli, env, 2)
    stopped.append(process)
    lines = log_lines(process)
    make_self_signed(cli.data / "tls" / "cert.pem", cli.data / "tls" / "key.pem", ["renewed.cantho.gov.vn"])
    process.send_signal(signal.SIGHUP)
    reloaded = wait_for(lines, RELOADED, count=2)
    assert len({line.split("[", 1)[1].split("]", 1)[0] for line in reloaded}) == 2  # two processes
    for _ in range(8):  # whichever worker accepts, the new certificate
        assert common_name(served(port(urls, "imaps"))) == "renewed.cantho.gov.vn"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
