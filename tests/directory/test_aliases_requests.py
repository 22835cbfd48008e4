"""Aliases (R6.2, R4 one namespace), delegations (R8.2) and agency requests (R7, R10.3), on both backends."""

import pytest

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError


@pytest.fixture
async def sonv(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    return directory


async def test_r6_2_alias_reaches_the_mailbox_and_takes_the_name(sonv: Directory) -> None:
    from hopthu.directory.routing import Router

    await sonv.aliases.add("nvminh", "minh.nguyen", actor="operator", reason="đổi địa chỉ")
    router = Router(sonv.ctx)
    owner = await sonv.accounts.get("nvminh")
    assert (await router.local("minh.nguyen@cantho.gov.vn")).account_id == owner.id
    assert (await sonv.accounts.get("minh.nguyen@cantho.gov.vn")).local == "nvminh"
    assert await sonv.accounts.aliases("nvminh") == ["minh.nguyen"]
    with pytest.raises(HopThuError):  # one namespace: an alias is taken for everyone
        await sonv.aliases.add("sonv", "minh.nguyen", actor="operator")
    [result] = await sonv.people.register(
        [PersonRow("Nguyễn", "Văn", "Minh", "sonv", address="minh.nguyen")], actor="test"
    )
    assert result.address is None and "minh.nguyen" in result.error
    await sonv.aliases.remove("minh.nguyen", actor="operator")
    assert await router.local("minh.nguyen@cantho.gov.vn") is None
    with pytest.raises(HopThuError):
        await sonv.aliases.remove("minh.nguyen", actor="operator")


async def test_r8_2_only_agency_mailboxes_to_people(sonv: Directory) -> None:
    with pytest.raises(HopThuError):
        await sonv.delegations.grant("nvminh", "nvminh", can_send=True, actor="operator")
    with pytest.raises(HopThuError):
        await sonv.delegations.grant("sonv", "sonv", can_send=True, actor="operator")
    await sonv.delegations.grant("sonv", "nvminh", can_send=True, actor="operator", ref="QĐ 5/SNV")
    await sonv.delegations.revoke("sonv", "nvminh", actor="operator")
    actions = [e.action for e in await sonv.accounts.history("sonv")]
    assert actions[:2] == ["delegation.revoked", "delegation.granted"]


async def test_r7_requests_filed_decided_once_and_audited(sonv: Directory) -> None:
    filed = await sonv.requests.file(
        "create",
        {"family": "Lê", "middle": "", "given": "Minh"},
        agency_code="sonv",
        channel="portal",
        filed_by="nvminh",
    )
    assert (filed.status, filed.agency_code, filed.channel) == ("pending", "sonv", "portal")
    with pytest.raises(HopThuError):  # a rejection needs its reason
        await sonv.requests.decide(filed.id, "rejected", reason=" ", actor="quantri")
    approved = await sonv.requests.decide(filed.id, "approved", reason=None, actor="quantri")
    assert approved.status == "approved" and approved.decided_by == "quantri"
    with pytest.raises(HopThuError) as twice:
        await sonv.requests.decide(filed.id, "rejected", reason="trùng", actor="quantri")
    assert twice.value.code == "conflict"
    assert [r.id for r in await sonv.requests.list(status="approved", agency_code="sonv")] == [filed.id]
    assert await sonv.requests.list(status="pending") == []
    with pytest.raises(HopThuError):
        await sonv.requests.file("bogus", {}, agency_code="sonv", channel="portal", filed_by="x")
    with pytest.raises(HopThuError):
        await sonv.requests.decide(9999, "approved", reason=None, actor="quantri")
