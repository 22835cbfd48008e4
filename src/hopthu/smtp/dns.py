"""Every DNS question the mail system asks goes through one `Resolver` object.

Production uses `DnsResolver` (dnspython, asynchronous); tests hand in a `StaticResolver` with the
answers they want, so nothing in a test ever asks the internet. Lookups answer lists of strings;
"no such name" and "no records" are an empty list, a failure to get an answer is `DnsError` (the
caller answers a temporary failure).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.resolver

from hopthu.errors import HopThuError


class DnsError(Exception):
    """The question could not be answered now (timeout, SERVFAIL): try again later."""


class Resolver(Protocol):
    async def mx(self, domain: str) -> list[tuple[int, str]]:
        """(preference, host) pairs, best first; [] when the domain has no MX records."""

    async def addresses(self, host: str) -> list[str]:
        """IPv4 and IPv6 addresses of a host."""

    async def txt(self, name: str) -> list[str]:
        """TXT records, each with its strings joined."""

    async def ptr(self, address: str) -> list[str]:
        """Reverse names of an IP address."""


class DnsResolver:
    """The real DNS, through dnspython."""

    def __init__(self, timeout: float = 5.0) -> None:
        self._resolver = dns.asyncresolver.Resolver()
        self._resolver.lifetime = timeout

    async def _query(self, name: str, kind: str) -> list:
        try:
            return list(await self._resolver.resolve(name, kind))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
            raise DnsError(f"{kind} {name}: {error}") from None
        except dns.exception.DNSException as error:
            raise DnsError(f"{kind} {name}: {error}") from None

    async def mx(self, domain: str) -> list[tuple[int, str]]:
        answers = await self._query(domain, "MX")
        return sorted((r.preference, r.exchange.to_text().rstrip(".").lower()) for r in answers)

    async def addresses(self, host: str) -> list[str]:
        return [r.address for r in await self._query(host, "A")] + [
            r.address for r in await self._query(host, "AAAA")
        ]

    async def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode("utf-8", "replace") for r in await self._query(name, "TXT")]

    async def ptr(self, address: str) -> list[str]:
        import dns.reversename

        answers = await self._query(dns.reversename.from_address(address).to_text(), "PTR")
        return [r.target.to_text().rstrip(".").lower() for r in answers]


@dataclass
class StaticResolver:
    """Answers from tables, for tests and for a closed network (names are lower case, no final dot)."""

    mx_records: Mapping[str, Sequence[tuple[int, str]]] = field(default_factory=dict)
    address_records: Mapping[str, Sequence[str]] = field(default_factory=dict)
    txt_records: Mapping[str, Sequence[str]] = field(default_factory=dict)
    ptr_records: Mapping[str, Sequence[str]] = field(default_factory=dict)
    failing: frozenset[str] = frozenset()  # names whose lookups fail temporarily

    def _check(self, name: str) -> str:
        name = name.lower().rstrip(".")
        if name in self.failing:
            raise DnsError(f"{name}: temporary failure (static)")
        return name

    async def mx(self, domain: str) -> list[tuple[int, str]]:
        return sorted(self.mx_records.get(self._check(domain), ()))

    async def addresses(self, host: str) -> list[str]:
        return list(self.address_records.get(self._check(host), ()))

    async def txt(self, name: str) -> list[str]:
        return list(self.txt_records.get(self._check(name), ()))

    async def ptr(self, address: str) -> list[str]:
        return list(self.ptr_records.get(self._check(address), ()))


def load_static(path: Path) -> StaticResolver:
    """A resolver answering only from a TOML file (tables `mx`, `addresses`, `txt`, `ptr`), for a
    closed network, a staging system or a benchmark that must not ask outside DNS."""
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise HopThuError(
            f"Không đọc được tệp DNS {path}: {error}",
            f"Cannot read the DNS file {path}: {error}",
            code="config",
        ) from None
    unknown = set(tables) - {"mx", "addresses", "txt", "ptr"}
    if unknown:
        raise HopThuError(
            f"Tệp DNS {path} có bảng lạ: {sorted(unknown)}",
            f"The DNS file {path} has unknown tables: {sorted(unknown)}",
            code="config",
        )
    lower = {
        name: {k.lower().rstrip("."): v for k, v in tables.get(name, {}).items()}
        for name in ("mx", "addresses", "txt", "ptr")
    }
    return StaticResolver(
        mx_records={k: [(int(p), str(h)) for p, h in v] for k, v in lower["mx"].items()},
        address_records=lower["addresses"],
        txt_records=lower["txt"],
        ptr_records=lower["ptr"],
    )


def resolver_for(dns_file: Path | None) -> Resolver:
    """The resolver a process uses: the real DNS, or the static file the configuration names."""
    return load_static(dns_file) if dns_file else DnsResolver()
