"""The real client behind trusted reverse proxies (`security.proxies`): headers are believed only
from a trusted peer, and read from the right so a client cannot name itself someone else."""

from __future__ import annotations

import pytest

from hopthu.config import load_settings
from hopthu.errors import HopThuError
from hopthu.security.proxies import TrustedProxies, forwarded_for


def test_nobody_is_trusted_by_default() -> None:
    assert TrustedProxies(()).client("198.51.100.7", ["203.0.113.5"]) == "198.51.100.7"


def test_an_untrusted_peers_header_is_ignored() -> None:
    proxies = TrustedProxies(["10.0.0.0/8"])
    assert proxies.client("198.51.100.7", ["203.0.113.5"]) == "198.51.100.7"


def test_a_trusted_proxy_names_the_client() -> None:
    proxies = TrustedProxies(["127.0.0.1/32"])
    assert proxies.client("127.0.0.1", ["203.0.113.5"]) == "203.0.113.5"
    assert proxies.client("127.0.0.1", []) == "127.0.0.1"  # no header: the proxy itself


def test_the_right_most_untrusted_address_wins_over_what_the_client_wrote() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "127.0.0.1"])
    # the client sent "X-Forwarded-For: 1.2.3.4"; the edge proxy appended the client's real address,
    # an inner proxy appended the edge's
    assert proxies.client("127.0.0.1", ["1.2.3.4, 203.0.113.5, 10.1.2.3"]) == "203.0.113.5"
    assert proxies.client("127.0.0.1", ["1.2.3.4", "203.0.113.5, 10.1.2.3"]) == "203.0.113.5"
    assert proxies.client("127.0.0.1", ["10.0.0.9, 10.1.2.3"]) == "10.0.0.9"  # every hop ours
    assert proxies.client("127.0.0.1", ["garbage, 10.1.2.3"]) == "10.1.2.3"  # nearest trusted hop


def test_ipv6_and_mapped_addresses() -> None:
    proxies = TrustedProxies(["::1/128", "127.0.0.1/32"])
    assert proxies.client("::1", ["2001:db8::7"]) == "2001:db8::7"
    assert proxies.client("::ffff:127.0.0.1", ["203.0.113.5"]) == "203.0.113.5"


def test_rfc7239_forwarded() -> None:
    assert forwarded_for(['for=192.0.2.43, for="[2001:db8:cafe::17]:4711";proto=https']) == [
        "192.0.2.43",
        "2001:db8:cafe::17",
    ]
    assert forwarded_for(['for="192.0.2.43:47011"', "for=unknown", "by=10.0.0.1"]) == [
        "192.0.2.43",
        "unknown",
        "",
    ]
    proxies = TrustedProxies(["127.0.0.1/32"], "forwarded")
    assert proxies.client("127.0.0.1", ["for=1.2.3.4, for=203.0.113.5;proto=https"]) == "203.0.113.5"
    assert proxies.client("127.0.0.1", ["for=_hidden"]) == "127.0.0.1"


def test_the_setting_is_checked_at_start(tmp_path) -> None:
    settings = load_settings(tmp_path, {"HOPTHU_SERVER_TRUSTED_PROXIES": "127.0.0.1/32, 10.0.0.0/8"})
    assert settings.server.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8")
    assert load_settings(tmp_path, {}).server.trusted_proxies == ()  # nobody by default
    for key, value in (("TRUSTED_PROXIES", "proxy.example"), ("FORWARDED_HEADER", "x-real-ip")):
        with pytest.raises(HopThuError, match="server"):
            load_settings(tmp_path, {f"HOPTHU_SERVER_{key}": value})
