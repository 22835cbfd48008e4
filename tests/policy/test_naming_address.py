"""The address namespace of R4: shape, reserved local parts, and the batch-wide Namespace."""

import pytest

from hopthu.errors import HopThuError
from hopthu.policy.naming import RESERVED, Namespace, is_issuable, validate_local_part


def test_r4_reserved_holds_the_regulation_minimum_and_the_certificate_addresses() -> None:
    """R4: hotro, postmaster, abuse, admin, root, noreply, mailer-daemon; plus CA validation mailboxes."""
    required = {"hotro", "postmaster", "abuse", "admin", "root", "noreply", "mailer-daemon"}
    certificate_validation = {"admin", "administrator", "webmaster", "hostmaster", "postmaster"}
    assert required | certificate_validation <= RESERVED
    assert all(local == local.lower() for local in RESERVED)


@pytest.mark.parametrize("local", ["nvminh", "nvminh1", "vanphong.sonv", "xavithanh1", "a", "a" * 64])
def test_r4_validate_local_part_accepts_well_formed_free_addresses(local: str) -> None:
    validate_local_part(local, frozenset({"sonv"}))


@pytest.mark.parametrize(
    "local",
    [
        "",
        "NVMinh",
        "nvmính",
        "đức",
        ".sonv",
        "sonv.",
        "van..phong",
        "nv-minh",
        "nv_minh",
        "nv minh",
        "a" * 65,
    ],
)
def test_r4_validate_local_part_refuses_malformed_addresses(local: str) -> None:
    with pytest.raises(HopThuError) as refused:
        validate_local_part(local, frozenset())
    assert refused.value.code == "address_malformed"
    assert "không hợp lệ" in refused.value.vi


@pytest.mark.parametrize("local", ["hotro", "postmaster", "admin", "root", "webmaster"])
def test_r4_validate_local_part_refuses_reserved_addresses(local: str) -> None:
    with pytest.raises(HopThuError) as refused:
        validate_local_part(local, frozenset())
    assert refused.value.code == "address_reserved"
    assert "dành riêng" in refused.value.vi


def test_r4_validate_local_part_refuses_a_taken_address() -> None:
    with pytest.raises(HopThuError) as refused:
        validate_local_part("nvminh", frozenset({"nvminh"}))
    assert refused.value.code == "conflict"
    assert "đã được sử dụng" in refused.value.vi


def test_r4_is_issuable_is_the_same_test_without_raising() -> None:
    taken = frozenset({"sonv"})
    assert is_issuable("sonoivu", taken)
    assert not is_issuable("sonv", taken)
    assert not is_issuable("hotro", taken)
    assert not is_issuable("Sonv", taken)


def test_r4_namespace_sees_what_is_taken_and_what_the_batch_claimed() -> None:
    namespace = Namespace(["sonv", "nvminh"])
    namespace.claim("nvminh1")
    assert {"sonv", "nvminh", "nvminh1"} <= namespace
    assert "nvminh2" not in namespace
    assert len(namespace) == 3
    assert set(namespace) == {"sonv", "nvminh", "nvminh1"}
    assert namespace.claimed == {"nvminh1"}


def test_r4_namespace_refuses_a_second_claim_of_one_address() -> None:
    namespace = Namespace(frozenset({"sonv"}))
    namespace.claim("ttnanh")
    with pytest.raises(HopThuError):
        namespace.claim("ttnanh")
    with pytest.raises(HopThuError):
        namespace.claim("sonv")
    with pytest.raises(HopThuError):
        namespace.claim("postmaster")
