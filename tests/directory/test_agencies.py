"""Agencies and sub-units through the directory service, on both backends (R1.1, R4.1, R4.2)."""

import pytest

from hopthu.directory.service import Directory
from hopthu.errors import HopThuError


async def test_r4_1_agency_gets_abbreviation_and_its_own_mailbox(directory: Directory) -> None:
    made = await directory.agencies.add("Sở Nội vụ", actor="test")
    assert made.code == "sonv" and made.kind == "agency"
    mailbox = await directory.accounts.get("sonv@cantho.gov.vn")
    assert mailbox.kind == "agency" and mailbox.display_name == "Sở Nội vụ"
    assert mailbox.quota_bytes == directory.ctx.settings.policy.agency_quota  # R5.1: at least 10 GB
    boxes = await directory.ctx.store.mail.mailboxes(mailbox.id)
    assert [b.name for b in boxes] == ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"]


async def test_r4_1_taken_abbreviation_gives_distinctive_name(directory: Directory) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    assert (await directory.agencies.add("Sở Ngoại vụ", actor="test")).code == "songoaivu"


async def test_r4_2_subunit_address_follows_agency(directory: Directory) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    office = await directory.agencies.add("Văn phòng", parent="sonv", actor="test")
    assert (office.code, office.kind, office.parent_code) == ("vanphong.sonv", "subunit", "sonv")
    assert [a.code for a in await directory.agencies.list()] == ["sonv", "vanphong.sonv"]


async def test_r4_namespace_is_shared_with_people(directory: Directory) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    with pytest.raises(HopThuError) as refused:
        await directory.agencies.add("Sở Nông nghiệp", code="sonv", actor="test")
    assert "sonv" in refused.value.vi


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "   "}, "trống"),
        ({"name": "Phòng Tổng hợp", "kind": "subunit"}, "--parent"),
        ({"name": "Phòng Tổng hợp", "parent": "khongco"}, "khongco"),
        ({"name": "Sở Y tế", "kind": "bogus"}, "bogus"),
        ({"name": "Sở Y tế", "code": "Hộp thư!"}, ""),
        ({"name": "Sở Y tế", "code": "postmaster"}, "postmaster"),
    ],
)
async def test_bad_agency_input_is_refused_in_vietnamese(directory: Directory, kwargs, fragment) -> None:
    with pytest.raises(HopThuError) as refused:
        await directory.agencies.add(actor="test", **kwargs)
    assert fragment in refused.value.vi + refused.value.en
    assert await directory.agencies.list() == []


async def test_every_agency_change_is_audited(directory: Directory) -> None:
    await directory.agencies.add("Sở Nội vụ", actor="cli:tester")
    history = {e.action: e for e in await directory.accounts.history("sonv")}
    assert set(history) == {"agency.created", "account.created"}
    assert history["agency.created"].actor == "cli:tester"
    assert history["agency.created"].details["name"] == "Sở Nội vụ"
