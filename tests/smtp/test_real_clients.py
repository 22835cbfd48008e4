"""Many real clients at once, and Debian's swaks: every accepted message stored exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess

import aiosmtplib
import pytest
import sqlalchemy as sa

from hopthu.config import Settings
from hopthu.store.schema import blob, message
from tests.smtp.conftest import PASSWORD, MailServer
from tests.smtp.conftest import message as make_message


@pytest.fixture
def server_settings(server_settings: Settings) -> Settings:
    """These clients stand for 100 senders, but all come from 127.0.0.1: the per-address limit is
    lifted above them (tests/hostile/test_connections.py checks the limit itself)."""
    limits = dataclasses.replace(server_settings.limits, mx_connections_per_address=1000)
    return dataclasses.replace(server_settings, limits=limits)


async def test_100_concurrent_senders_each_stored_exactly_once(mailserver: MailServer) -> None:
    async def send(n: int) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mailserver.port("smtp"), start_tls=False)
        await client.connect()
        try:
            await client.sendmail(
                f"ban{n}@example.org",
                ["nvminh@cantho.gov.vn", "ttnanh@cantho.gov.vn"],
                make_message(subject=f"Thư số {n}", body=f"Nội dung {n}"),
            )
        finally:
            await client.quit()

    await asyncio.gather(*[send(n) for n in range(100)])
    for local in ("nvminh", "ttnanh"):
        subjects = [m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0] for m in await mailserver.inbox(local)]
        assert len(subjects) == len(set(subjects)) == 100
    async with mailserver.services.store.db.read() as conn:
        bodies = (await conn.execute(sa.select(sa.func.count()).select_from(blob))).scalar_one()
        rows = (await conn.execute(sa.select(sa.func.count()).select_from(message))).scalar_one()
    assert (bodies, rows) == (100, 200)  # one body per message, however many recipients
    assert len(list(mailserver.services.store.blobs.root.rglob("*.zst"))) == 100


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks (Debian package) is not installed")
async def test_swaks_submission_with_starttls_and_auth(mailserver: MailServer) -> None:
    done = await asyncio.to_thread(
        subprocess.run,
        [
            "swaks",
            "--server",
            "127.0.0.1",
            "--port",
            str(mailserver.port("submission")),
            "--tls",
            "--auth",
            "LOGIN",
            "--auth-user",
            "nvminh@cantho.gov.vn",
            "--auth-password",
            PASSWORD,
            "--from",
            "nvminh@cantho.gov.vn",
            "--to",
            "ttnanh@cantho.gov.vn",
            "--header",
            "Subject: Thu tu swaks",
            "--body",
            "Kiem tra bang swaks",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "250 2.0.0" in done.stdout
    [stored] = await mailserver.inbox("ttnanh")
    assert b"Subject: Thu tu swaks" in stored and b"with ESMTPSA" in stored
