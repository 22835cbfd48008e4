"""The access log's rules on both backends (R13.4): a sign-in from a source and program never seen
for an account tells its owner once, not for a known pair nor for the account's first sign-in ever;
events older than 12 months are purged, newer kept; a flood cannot grow the buffer past its bound."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from hopthu.config import Settings
from hopthu.directory import accesslog
from hopthu.directory.accesslog import AccessQuery
from hopthu.directory.auth import Authenticator
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.jobs.accesslog import purge
from hopthu.jobs.base import JobContext
from tests.conftest import Clock

PASSWORD = "Mat-khau-Moi-2026!"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The new-place notice on, as the product's default (the suite's settings turn it off)."""
    return dataclasses.replace(
        settings, policy=dataclasses.replace(settings.policy, signin_new_place_notice=True)
    )


async def _person(directory: Directory) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    (row,) = await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    await directory.accounts.change_password(row.address, row.temporary_password, PASSWORD)


async def test_a_new_place_is_told_once(directory: Directory, clock: Clock) -> None:
    await _person(directory)
    told: list[tuple[str, str, str]] = []

    async def tell(recipient: str, *, subject: str, vi: str, en: str) -> None:
        told.append((recipient, subject, vi))

    auth = Authenticator(directory.ctx, tell=tell)

    async def sign_in(source: str, client: str) -> None:
        await auth.sign_in("nvminh", PASSWORD, source=source, protocol="imap", client=client)
        await directory.ctx.access_log.flush()

    await sign_in("10.0.0.5", "Thunderbird 128")  # the first ever: nothing to compare with
    await sign_in("10.0.0.5", "Thunderbird 128")
    assert told == []
    await sign_in("203.0.113.9", "Thunderbird 128")
    await sign_in("203.0.113.9", "Thunderbird 128")
    ((recipient, subject, vi),) = told
    assert recipient == "nvminh@cantho.gov.vn" and "Sign-in from a new place" in subject
    assert "203.0.113.9" in vi and "15:30 02/03/2026" in vi  # 08:30 UTC is 15:30 in Vietnam
    # A fresh process (its memory empty) knows the pair from the log itself.
    again = Authenticator(directory.ctx, tell=tell)
    directory.ctx.access_log._known.clear()
    await again.sign_in("nvminh", PASSWORD, source="203.0.113.9", protocol="imap", client="Thunderbird 128")
    assert len(told) == 1


async def test_the_purge_keeps_twelve_months(directory: Directory, clock: Clock) -> None:
    log = directory.ctx.access_log
    for days in (400, 366, 364, 1):
        clock.now = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC) - dt.timedelta(days=days)
        log.record(
            account_id=7, login="nvminh", protocol="pop3", source="10.0.0.5", client="", result="success"
        )
    clock.now = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
    await log.flush()

    class Services:
        store = directory.ctx.store

    assert await purge(JobContext(Services(), clock.now)) == {"removed": 2}
    left = await log.search(AccessQuery(account_id=7))
    assert [clock.now - e.at for e in left] == [dt.timedelta(days=1), dt.timedelta(days=364)]
    assert await log.purge(clock.now, batch=1) == 2 and await log.search(AccessQuery()) == []


async def test_a_flood_of_failures_is_bounded(directory: Directory, monkeypatch) -> None:
    monkeypatch.setattr(accesslog, "BUFFER_MAX", 50)
    log = directory.ctx.access_log
    for n in range(80):
        log.record(
            account_id=None, login=f"x{n}", protocol="imap", source="", client="", result="bad_credentials"
        )
    assert len(log._buffer) == 50 and log.dropped == 30
    await log.flush()
    assert [e.login for e in await log.search(AccessQuery(), limit=1)] == ["x79"]
