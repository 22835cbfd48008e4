"""Accounts after creation: passwords (R5.2, R5.3), lifecycle (R6), quota (R5.1), audit."""

import pytest

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.policy.lifecycle import Action
from hopthu.policy.quota import GB


@pytest.fixture
async def minh(directory: Directory) -> str:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    [result] = await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    return result.temporary_password


async def test_r5_2_change_password_clears_must_change(directory: Directory, minh: str) -> None:
    await directory.accounts.change_password("nvminh", minh, "Hop-Thu-2026")
    account = await directory.accounts.get("nvminh")
    assert not account.must_change_password


@pytest.mark.parametrize(
    ("new", "missing"),
    [
        ("ngan", "ít nhất 8 ký tự"),
        ("khongcohoa1!", "in hoa"),
        ("KHONGTHUONG1!", "in thường"),
        ("KhongCoSo!!", "chữ số"),
        ("KhongDacBiet12", "ký tự đặc biệt"),
    ],
)
async def test_r5_3_each_missing_rule_is_named(
    directory: Directory, minh: str, new: str, missing: str
) -> None:
    with pytest.raises(HopThuError) as refused:
        await directory.accounts.change_password("nvminh", minh, new)
    assert missing in refused.value.vi
    assert (await directory.accounts.get("nvminh")).must_change_password


async def test_wrong_old_password_refused(directory: Directory, minh: str) -> None:
    with pytest.raises(HopThuError) as refused:
        await directory.accounts.change_password("nvminh", "Sai-mat-khau-1", "Hop-Thu-2026")
    assert refused.value.code == "auth"


async def test_r5_2_reset_gives_new_temporary_password(directory: Directory, minh: str) -> None:
    await directory.accounts.change_password("nvminh", minh, "Hop-Thu-2026")
    fresh = await directory.accounts.reset_password("nvminh", actor="helpdesk")
    assert fresh != minh and (await directory.accounts.get("nvminh")).must_change_password
    with pytest.raises(HopThuError):
        await directory.accounts.change_password("nvminh", "Hop-Thu-2026", "Hop-Thu-2027")
    await directory.accounts.change_password("nvminh", fresh, "Hop-Thu-2027")
    actions = [e.action for e in await directory.accounts.history("nvminh")]
    assert actions[:3] == ["account.password_changed", "account.password_reset", "account.password_changed"]


async def test_r6_4b_an_expired_password_is_marked_once_and_audited(directory: Directory, minh: str) -> None:
    """R5.2, R6.4b: the expiry job's act: must change at the next sign-in, recorded once."""
    await directory.accounts.change_password("nvminh", minh, "Hop-Thu-2026")
    found = await directory.accounts.get("nvminh")
    assert await directory.accounts.expire_password(found.id, actor="hopthu jobs")
    assert (await directory.accounts.get("nvminh")).must_change_password
    assert not await directory.accounts.expire_password(found.id, actor="hopthu jobs")  # already due
    history = await directory.accounts.history("nvminh")
    assert [(e.action, e.actor) for e in history[:2]] == [
        ("account.password_expired", "hopthu jobs"),
        ("account.password_changed", "nvminh"),
    ]


async def test_r6_lock_and_restore_with_reason_and_document(directory: Directory, minh: str) -> None:
    locked = await directory.accounts.change_status(
        "nvminh", Action.LOCK, reason="security_warning", ref="CV 12/CAT", actor="operator"
    )
    assert (locked.status, locked.status_reason, locked.status_ref) == (
        "locked",
        "security_warning",
        "CV 12/CAT",
    )
    restored = await directory.accounts.change_status(
        "nvminh", Action.RESTORE, reason="requested", ref="YC 3/SNV", actor="operator"
    )
    assert restored.status == "active"
    [latest, first] = [
        e for e in await directory.accounts.history("nvminh") if e.action.startswith("account.")
    ][:2]
    assert (latest.action, latest.ref, first.action) == ("account.restored", "YC 3/SNV", "account.locked")


async def test_r6_disallowed_transitions_and_missing_reasons(directory: Directory, minh: str) -> None:
    with pytest.raises(HopThuError):  # not locked: nothing to restore
        await directory.accounts.change_status(
            "nvminh", Action.RESTORE, reason="requested", ref="x", actor="o"
        )
    with pytest.raises(HopThuError) as refused:  # free text is not one of the regulation's reasons
        await directory.accounts.change_status("nvminh", Action.LOCK, reason="vì sao đó", ref=None, actor="o")
    assert refused.value.code == "reason_required"
    await directory.accounts.change_status("nvminh", Action.DELETE, reason="left", ref="QĐ 7", actor="o")
    with pytest.raises(HopThuError):  # deleted mailboxes are not restored (R6.6)
        await directory.accounts.change_status(
            "nvminh", Action.RESTORE, reason="requested", ref="x", actor="o"
        )
    assert (await directory.accounts.get("nvminh")).status == "deleted"


async def test_r6_5_revoked_restorable_only_within_retention(directory: Directory, minh: str, clock) -> None:
    await directory.accounts.change_status("nvminh", Action.REVOKE, reason="inactive", ref=None, actor="jobs")
    clock.advance(days=91)
    with pytest.raises(HopThuError) as refused:
        await directory.accounts.change_status(
            "nvminh", Action.RESTORE, reason="requested", ref="x", actor="o"
        )
    assert "lưu giữ" in refused.value.vi


async def test_r5_1_quota_bounds(directory: Directory, minh: str) -> None:
    updated = await directory.accounts.set_quota("nvminh", "3GB", actor="operator")
    assert updated.quota_bytes == 3 * GB
    with pytest.raises(HopThuError):
        await directory.accounts.set_quota("nvminh", "6GB", actor="operator")  # personal at most 5 GB
    with pytest.raises(HopThuError):
        await directory.accounts.set_quota("sonv", "8GB", actor="operator")  # agency at least 10 GB
    with pytest.raises(HopThuError):
        await directory.accounts.set_quota("nvminh", "năm gigabyte", actor="operator")
    assert (await directory.accounts.get("sonv")).quota_bytes == 10 * GB


async def test_unknown_and_foreign_addresses(directory: Directory, minh: str) -> None:
    with pytest.raises(HopThuError) as missing:
        await directory.accounts.get("khongco@cantho.gov.vn")
    assert missing.value.code == "not_found"
    with pytest.raises(HopThuError):
        await directory.accounts.get("nvminh@gmail.com")
    assert (await directory.accounts.get("NVMinh@CanTho.gov.vn")).local == "nvminh"
