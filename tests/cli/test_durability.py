"""Nothing answered 250 is lost when the process is killed (SIGKILL) mid-stream, and nothing is
stored twice after the restart: the real `hopthu serve`, real SMTP clients, both backends."""

from __future__ import annotations

import asyncio
import signal
import smtplib
import threading
import time

import sqlalchemy as sa

from hopthu.config import load_settings
from hopthu.store import Store
from hopthu.store.schema import message
from tests.cli.conftest import Cli
from tests.cli.test_serve import start

SENDERS = 8


def prepare(cli: Cli, tmp_path) -> dict[str, str]:
    cli.init()
    dns = tmp_path / "dns.toml"
    dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
    cli("agency", "add", "--name", "Sở Nội vụ")
    cli("account", "add", "--family", "Nguyễn", "--middle", "Văn", "--given", "Minh", "--agency", "sonv")
    return {"HOPTHU_SMTP_DNS_FILE": str(dns)}


def flood(port: int, stop: threading.Event, acknowledged: list[str], worker: int) -> None:
    """Send numbered messages until stopped or the server dies; remember each one answered 250."""
    number = 0
    while not stop.is_set():
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                while not stop.is_set():
                    subject = f"w{worker}-{number}"
                    client.sendmail(
                        "ban@example.org",
                        ["nvminh@cantho.gov.vn"],
                        f"From: ban@example.org\r\nTo: nvminh@cantho.gov.vn\r\nSubject: {subject}\r\n"
                        f"Message-ID: <{subject}@example.org>\r\n\r\nNoi dung {subject}\r\n".encode(),
                    )
                    acknowledged.append(subject)
                    number += 1
        except (OSError, smtplib.SMTPException):
            return


async def stored_subjects(cli: Cli) -> list[str]:
    store = await Store.open(load_settings(cli.data))
    try:
        async with store.db.read() as conn:
            return list((await conn.execute(sa.select(message.c.subject))).scalars())
    finally:
        await store.close()


def test_sigkill_loses_nothing_acknowledged_and_duplicates_nothing(cli: Cli, tmp_path) -> None:
    env = prepare(cli, tmp_path)
    process, urls = start(cli, env=env)
    port = int(urls["smtp"].rsplit(":", 1)[1])
    stop = threading.Event()
    acknowledged: list[str] = []
    workers = [threading.Thread(target=flood, args=(port, stop, acknowledged, n)) for n in range(SENDERS)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 150 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    stop.set()
    for worker in workers:
        worker.join(timeout=15)
    assert len(acknowledged) >= 150, "the server accepted too little before the kill to prove anything"

    restarted, _ = start(cli, env=env)  # recovery on start: the WAL / PostgreSQL replay
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=20) == 0
    subjects = asyncio.run(stored_subjects(cli))
    assert set(acknowledged) <= set(subjects), "a message answered 250 was lost"
    assert len(subjects) == len(set(subjects)), "a message was stored twice"
