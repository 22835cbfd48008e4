"""The static DNS file for closed networks and benchmarks."""

from pathlib import Path

import pytest

from hopthu.errors import HopThuError
from hopthu.smtp.dns import DnsResolver, StaticResolver, load_static, resolver_for


async def test_static_file_answers_every_kind(tmp_path: Path) -> None:
    path = tmp_path / "dns.toml"
    path.write_text(
        '[mx]\n"Example.org." = [[20, "mx2.example.org"], [10, "mx1.example.org"]]\n'
        '[addresses]\n"mx1.example.org" = ["127.0.0.1"]\n'
        '[txt]\n"example.org" = ["v=spf1 -all"]\n'
    )
    resolver = resolver_for(path)
    assert isinstance(resolver, StaticResolver)
    assert await resolver.mx("example.org") == [(10, "mx1.example.org"), (20, "mx2.example.org")]
    assert await resolver.addresses("MX1.example.org") == ["127.0.0.1"]
    assert await resolver.txt("example.org") == ["v=spf1 -all"]
    assert await resolver.txt("other.org") == []
    assert isinstance(resolver_for(None), DnsResolver)


def test_bad_dns_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[cname]\nx = 1\n")
    with pytest.raises(HopThuError) as refused:
        load_static(tmp_path / "bad.toml")
    assert "cname" in refused.value.vi
    with pytest.raises(HopThuError):
        load_static(tmp_path / "missing.toml")
