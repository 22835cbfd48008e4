"""Carrying out requests (R7, R4.3b, R6.2): a request is done once, a naming choice goes back to the
queue with its proposals, an approved transfer renames the display name (R4.4), on both backends."""

import asyncio

import pytest

from hopthu.directory.fulfilment import Fulfilment, NamingChoice, person_payload
from hopthu.directory.people import PersonRow
from hopthu.directory.roles import subtree
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError


@pytest.fixture
async def city(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.agencies.add("Sở Y tế", actor="test")
    minhs = [PersonRow("Nguyễn", "Văn", "Minh", "sonv", rank=r) for r in (1, 2, 3)]
    await directory.people.register(minhs, actor="test")
    return directory


async def create(directory: Directory, row: PersonRow, proposed: str | None = None) -> int:
    """A create request filed as a batch of one; its id."""
    payload = person_payload(row, proposed=proposed, proposals=[])
    await directory.requests.file_batch(
        [("create", row.agency, payload)], channel="portal", filed_by="m", batch="b"
    )
    (filed,) = await directory.requests.list(batch="b", status="pending")
    return filed.id


async def test_a_request_is_carried_out_once(city: Directory) -> None:
    filed = await create(city, PersonRow("Lê", "Thị", "Hoa", "soyt"), "lthoa")
    fulfil = Fulfilment(city)
    outcomes = await asyncio.gather(
        fulfil.approve(filed, actor="op1"), fulfil.approve(filed, actor="op2"), return_exceptions=True
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert next(str(o) for o in outcomes if isinstance(o, HopThuError)).startswith("Yêu cầu")
    done = await city.requests.get(filed)
    assert done.status == "approved" and done.payload["address"] == "lthoa"
    password = city.factors.box.open(done.payload["sealed_password"])
    assert (await city.accounts.get("lthoa")).must_change_password and len(password) >= 12


async def test_r4_3b_a_fourth_namesake_waits_for_the_operator(city: Directory) -> None:
    filed = await create(city, PersonRow("Nguyễn", "Văn", "Minh", "soyt"))
    fulfil = Fulfilment(city)
    with pytest.raises(NamingChoice) as choice:
        await fulfil.approve(filed, actor="op")
    waiting = await city.requests.get(filed)
    assert waiting.status == "pending" and waiting.payload["proposals"] == choice.value.proposals
    with pytest.raises(HopThuError):  # only a proposal can be taken
        await fulfil.approve(filed, actor="op", address="nvminh")
    done = await fulfil.approve(filed, actor="op", address=choice.value.proposals[1])
    assert done.payload["address"] == choice.value.proposals[1]


async def test_r6_2_transfer_renames_and_keeps_the_address(city: Directory) -> None:
    filed = await city.requests.file(
        "change",
        {"address": "nvminh", "agency": "soyt", "reason": "transferred", "ref": "QĐ 12/QĐ-UBND"},
        agency_code="sonv",
        channel="portal",
        filed_by="m",
    )
    await Fulfilment(city).approve(filed.id, actor="op")
    moved = await city.accounts.get("nvminh")
    assert moved.agency_code == "soyt" and moved.display_name == "Nguyễn Văn Minh (Sở Y tế)"
    assert (await city.accounts.history("nvminh"))[0].action == "account.changed"


async def test_rejection_needs_a_reason(city: Directory) -> None:
    filed = await city.requests.file(
        "lock", {"address": "nvminh"}, agency_code="sonv", channel="portal", filed_by="m"
    )
    with pytest.raises(HopThuError):
        await city.requests.decide(filed.id, "rejected", reason=" ", actor="op")
    assert (
        await city.requests.decide(filed.id, "rejected", reason="Không đủ căn cứ", actor="op")
    ).status == "rejected"


def test_a_managers_subtree() -> None:
    parents = {1: None, 2: 1, 3: 2, 4: None, 5: 4}
    assert subtree(parents, {2}) == {2, 3}
    assert subtree(parents, {1, 4}) == {1, 2, 3, 4, 5}
