"""The connection counter every listener shares: per address, in total, released on close, and
forgetting addresses that hold nothing (memory bounded by open connections)."""

from __future__ import annotations

import logging

import pytest

from hopthu.security.connections import ConnectionLimits, Refused, address_key


def test_per_address_limit_refuses_the_next_and_a_close_lets_one_in() -> None:
    limits = ConnectionLimits("imap", total=100, per_address=2)
    assert limits.admit("192.0.2.1") is None
    assert limits.admit("192.0.2.1") is None
    assert limits.admit("192.0.2.1") is Refused.ADDRESS
    assert limits.admit("192.0.2.2") is None  # another address is not affected
    limits.release("192.0.2.1")
    assert limits.admit("192.0.2.1") is None
    assert limits.total == 3 and limits.refused == 1


def test_total_limit_refuses_every_address() -> None:
    limits = ConnectionLimits("smtp", total=3, per_address=10)
    for n in range(3):
        assert limits.admit(f"192.0.2.{n}") is None
    assert limits.admit("198.51.100.7") is Refused.TOTAL
    limits.release("192.0.2.0")
    assert limits.admit("198.51.100.7") is None


def test_addresses_holding_nothing_are_forgotten() -> None:
    limits = ConnectionLimits("http", total=1_000_000, per_address=5)
    for n in range(10_000):
        address = f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
        assert limits.admit(address) is None
        limits.release(address)
    assert limits.addresses == 0 and limits.total == 0


def test_a_release_without_admission_changes_nothing(caplog: pytest.LogCaptureFixture) -> None:
    limits = ConnectionLimits("pop3", total=10, per_address=1)
    limits.release("192.0.2.1")
    assert limits.total == 0 and limits.addresses == 0
    assert limits.admit("192.0.2.1") is None


def test_ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    limits = ConnectionLimits("imap", total=10, per_address=1)
    assert limits.admit("2001:db8::1") is None
    assert limits.admit("2001:db8::2") is Refused.ADDRESS  # a new address from the same /64


def test_a_flood_of_refusals_logs_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limits = ConnectionLimits("smtp", total=0 + 1, per_address=1, clock=lambda: now[0])
    limits.admit("192.0.2.1")
    with caplog.at_level(logging.WARNING, "hopthu.security.connections"):
        for _ in range(1000):
            limits.admit("192.0.2.1")
        now[0] = 61.0
        limits.admit("192.0.2.1")
    assert len(caplog.records) == 2 and limits.refused == 1001
