"""Registering people (R4.3, R4.4, R5.2, R6.1) one at a time and as lists, on both backends."""

import datetime as dt

import pytest

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory


@pytest.fixture
async def sonv(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    return directory


def person(family: str, middle: str, given: str, **extra) -> PersonRow:
    return PersonRow(family, middle, given, extra.pop("agency", "sonv"), **extra)


async def register(directory: Directory, *rows: PersonRow):
    return await directory.people.register(list(rows), actor="test")


async def test_r4_3a_person_address_and_r4_4_display_name(sonv: Directory) -> None:
    [result] = await register(sonv, person("Nguyễn", "Văn", "Minh"))
    assert result.address == "nvminh" and result.temporary_password
    account = await sonv.accounts.get("nvminh@cantho.gov.vn")
    assert account.display_name == "Nguyễn Văn Minh (Sở Nội vụ)"
    assert account.must_change_password  # R5.2: a new password must be changed at first use
    assert account.kind == "personal" and account.status == "active"


async def test_r4_3b_later_namesakes_numbered_and_fourth_needs_administrator(sonv: Directory) -> None:
    results = []
    for middle in ("Văn", "Võ", "Văn", "Viết"):
        results += await register(sonv, person("Nguyễn", middle, "Minh"))
    assert [r.address for r in results[:3]] == ["nvminh", "nvminh1", "nvminh2"]
    fourth = results[3]
    assert fourth.address is None and fourth.needs_administrator
    assert fourth.proposals[0] == "nvminh3"
    # The administrator's choice (R4.3b) is then registered as given.
    [chosen] = await register(sonv, person("Nguyễn", "Viết", "Minh", address=fourth.proposals[1]))
    assert chosen.address == fourth.proposals[1]


async def test_r4_3b_same_day_list_ordered_by_rank(sonv: Directory) -> None:
    day = dt.date(2026, 3, 2)
    results = await register(
        sonv,
        person("Nguyễn", "Văn", "Minh", rank=1, date=day, line=2),
        person("Nguyễn", "Văn", "Minh", rank=5, date=day, line=3),  # the director keeps the base
        person("Nguyễn", "Vũ", "Minh", rank=3, date=day, line=4),
    )
    assert [r.address for r in results] == ["nvminh2", "nvminh", "nvminh1"]


async def test_bad_rows_change_nothing_and_others_are_created(sonv: Directory) -> None:
    results = await register(
        sonv,
        person("Trần", "Thị Ngọc", "Ánh", line=2),
        person("Lê", "", "Minh", agency="khongco", line=3),
        person("", "", "", line=4),
        person("Lê", "", "Minh", line=5),
    )
    assert [r.address for r in results] == ["ttnanh", None, None, "lminh"]
    assert "khongco" in results[1].error and results[2].error
    accounts = {a.local for a in await sonv.accounts.list()}
    assert accounts == {"sonv", "ttnanh", "lminh"}


async def test_chosen_address_that_is_taken_is_refused(sonv: Directory) -> None:
    [result] = await register(sonv, person("Nguyễn", "Văn", "Minh", address="sonv"))
    assert result.address is None and "sonv" in result.error


async def test_r4_one_namespace_with_agencies(sonv: Directory) -> None:
    """An agency holding a person's base means the person is numbered, never given the same address."""
    await sonv.agencies.add("Nhà văn hóa Minh", code="nvminh", actor="test")
    [result] = await register(sonv, person("Nguyễn", "Văn", "Minh"))
    assert result.address == "nvminh1"


async def test_large_list_is_registered_in_chunks(sonv: Directory) -> None:
    given = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Khoa", "Lan"]
    rows = [person("Phạm", "Thị", given[n % 8], line=n + 2) for n in range(700)]
    seen: list[int] = []
    results = await sonv.people.register(rows, actor="test", progress=seen.append)
    assert sum(seen) == 700
    automatic = [r for r in results if r.address]
    waiting = [r for r in results if r.needs_administrator]
    assert len(automatic) == 8 * 3 and len(waiting) == 700 - 24  # three per base, then proposals
    assert len({r.address for r in automatic}) == 24
