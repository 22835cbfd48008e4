"""Agencies renamed, merged, dissolved (R4.4, R6.2, R6.3) and their declared staff (R10.4), on both
backends: display names follow, the old agency address reaches the new agency's mailbox."""

import pytest

from hopthu.directory.people import PersonRow
from hopthu.directory.routing import Router
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError


@pytest.fixture
async def city(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Thông tin và Truyền thông", actor="test")
    await directory.agencies.add("Sở Khoa học và Công nghệ", actor="test")
    await directory.agencies.add("Trung tâm Công nghệ thông tin", parent="sotttt", actor="test")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sotttt"), PersonRow("Lê", "Thị", "Hoa", "sokhcn")]
    await directory.people.register(people, actor="test")
    return directory


async def test_r4_4_rename_carries_display_names(city: Directory) -> None:
    with pytest.raises(HopThuError):  # a document is cited
        await city.reorganisation.rename("sokhcn", "Sở KH&CN mới", ref="", actor="op")
    await city.reorganisation.rename("sokhcn", "Sở Khoa học, Công nghệ", ref="QĐ 1/QĐ-UBND", actor="op")
    assert (await city.accounts.get("lthoa")).display_name == "Lê Thị Hoa (Sở Khoa học, Công nghệ)"
    assert (await city.accounts.get("sokhcn")).display_name == "Sở Khoa học, Công nghệ"


async def test_r6_2_merge_moves_people_and_keeps_the_old_address(city: Directory) -> None:
    merged = await city.reorganisation.merge("sotttt", "sokhcn", ref="NQ 15/NQ-HĐND", actor="op")
    assert merged.code == "sokhcn"
    minh = await city.accounts.get("nvminh")
    assert minh.agency_code == "sokhcn" and minh.display_name == "Nguyễn Văn Minh (Sở Khoa học và Công nghệ)"
    assert (await city.agencies.get("sotttt")).status == "merged"
    sub_units = [a for a in await city.agencies.list() if a.parent_code == "sokhcn"]
    assert [a.name for a in sub_units] == ["Trung tâm Công nghệ thông tin"]
    reached = await Router(city.ctx).local("sotttt@cantho.gov.vn")
    assert reached is not None and reached.account_id == (await city.accounts.get("sokhcn")).id
    assert await city.accounts.aliases("sokhcn") == ["sotttt"]
    (subunit,) = sub_units
    with pytest.raises(HopThuError, match="own sub-units"):
        await city.reorganisation.merge("sokhcn", subunit.code, ref="x", actor="op")
    with pytest.raises(HopThuError, match="no longer working"):  # not twice
        await city.reorganisation.merge("sotttt", "sokhcn", ref="x", actor="op")


async def test_r6_3_dissolve_deletes_every_mailbox(city: Directory) -> None:
    with pytest.raises(HopThuError, match="sub-units"):
        await city.reorganisation.dissolve("sotttt", ref="QĐ 9", actor="op")
    subunit = next(a for a in await city.agencies.list() if a.parent_code == "sotttt")
    assert await city.reorganisation.dissolve(subunit.code, ref="QĐ 9", actor="op") == 1
    assert await city.reorganisation.dissolve("sotttt", ref="QĐ 10", actor="op") == 2
    gone = await city.accounts.get("nvminh")
    assert (gone.status, gone.status_reason, gone.status_ref) == ("deleted", "agency_dissolved", "QĐ 10")


async def test_r10_4_declared_staff(city: Directory) -> None:
    await city.reorganisation.declare_staff("sokhcn", 25, actor="manager")
    assert (await city.agencies.get("sokhcn")).staff_count == 25
    counts = await city.agencies.active_mailboxes()
    assert counts[(await city.agencies.get("sokhcn")).id] == 1
    with pytest.raises(HopThuError):
        await city.reorganisation.declare_staff("sokhcn", -1, actor="manager")
