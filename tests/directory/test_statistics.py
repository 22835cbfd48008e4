"""The portal's overview figures (R9.3), on both backends, with the clock moved across the
boundaries of R6.5 (6 months unused) and R5.2 (3 months without a password change)."""

import datetime as dt

import pytest

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.directory.statistics import overview
from hopthu.policy.lifecycle import Action
from tests.conftest import Clock


@pytest.fixture
async def city(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.agencies.add("Sở Y tế", actor="test")
    rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Lê", "Thị", "Hoa", "soyt")]
    await directory.people.register(rows, actor="test")
    return directory


async def test_figures_and_what_is_coming(city: Directory, clock: Clock) -> None:
    db = city.ctx.store.db
    now = clock()
    figures = await overview(db, now=now)
    assert figures.by_status == {"active": 4} and (figures.personal, figures.agency) == (2, 2)
    assert figures.active_30_days == 0  # nobody has used their mailbox yet
    assert figures.revoked_within_30_days == 0 and figures.passwords_expiring_14_days == 0

    later = now + dt.timedelta(days=31 * 5 + 1)  # about 5 months on: revocation is < 30 days away
    assert (await overview(db, now=later)).revoked_within_30_days == 2
    after_80_days = now + dt.timedelta(days=80)  # 3 months after creation is under 14 days away
    assert (await overview(db, now=after_80_days)).passwords_expiring_14_days == 2
    assert (await overview(db, now=now + dt.timedelta(days=60))).passwords_expiring_14_days == 0

    await city.accounts.change_status("lthoa", Action.LOCK, reason="violation", ref=None, actor="op")
    scoped = await overview(db, {(await city.agencies.get("soyt")).id}, now=later)
    assert scoped.by_status == {"active": 1, "locked": 1} and scoped.revoked_within_30_days == 0


async def test_account_list_filters(city: Directory, clock: Clock) -> None:
    """The portal's filters by last use, password age and storage used."""
    now = clock()
    later = now + dt.timedelta(days=100)
    idle = await city.accounts.list(kind="personal", unused_since=later - dt.timedelta(days=90))
    assert [a.local for a in idle] == ["lthoa", "nvminh"]
    assert await city.accounts.list(kind="personal", unused_since=now - dt.timedelta(days=1)) == []
    stale = await city.accounts.list(kind="personal", password_before=later - dt.timedelta(days=90))
    assert len(stale) == 2
    assert await city.accounts.list(usage_at_least=0.8) == []
    assert len(await city.accounts.list(usage_at_least=0.0)) == 4
