"""`hopthu dns check`: what DNS answers for each record `records` lists, and whether it matches.

Each record is `match` (published as printed, or with extra tags the operator added), `missing`
(no record of its kind at the name), `different` (one there, saying something else) or `failed`
(DNS gave no answer in time). Questions go through a `Lookup`: `DnsLookup` asks DNS servers
(the system's, or one named, e.g. the zone's own server before delegating); tests answer them.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

from hopthu.discovery.records import Record
from hopthu.smtp.dns import DnsError


class Lookup(Protocol):
    async def query(self, name: str, rdtype: str) -> list[str]:
        """The records of `rdtype` at `name` in zone-file text (TXT: the strings joined, unquoted);
        [] when there are none; `DnsError` when no answer came."""


class DnsLookup:
    """The real DNS through dnspython; `nameserver` (and `port`) to ask one server only."""

    def __init__(self, nameserver: str | None = None, port: int = 53, timeout: float = 5.0) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=nameserver is None)
        if nameserver is not None:
            self._resolver.nameservers = [nameserver]
            self._resolver.port = port
        self._resolver.lifetime = timeout
        self._resolver.use_edns(0, 0, 1232)  # a 2048-bit DKIM key's TXT fits one UDP answer

    async def query(self, name: str, rdtype: str) -> list[str]:
        try:
            answer = await self._resolver.resolve(name, rdtype)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            raise DnsError(f"{rdtype} {name}: {error}") from None
        if answer.rrset is None or answer.rrset.rdtype != dns.rdatatype.from_text(rdtype):
            return []  # a CNAME followed to something else is not a record of this type here
        if rdtype == "TXT":
            return [b"".join(r.strings).decode("utf-8", "replace") for r in answer.rrset]
        return [r.to_text() for r in answer.rrset]


class Status(enum.Enum):
    MATCH = "match"
    MISSING = "missing"
    DIFFERENT = "different"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Finding:
    record: Record
    status: Status
    found: tuple[str, ...]  # what DNS answered at the name, for the operator to compare

    def as_dict(self) -> dict[str, object]:
        return {**self.record.as_dict(), "status": self.status.value, "found": list(self.found)}


async def check(wanted: list[Record], lookup: Lookup) -> list[Finding]:
    """Each record against what `lookup` answers, in the order given."""
    return [await _check_one(record, lookup) for record in wanted]


async def _check_one(record: Record, lookup: Lookup) -> Finding:
    try:
        if record.type == "CNAME":
            return await _check_alias(record, lookup)
        found = await lookup.query(record.name, record.type)
    except DnsError as error:
        return Finding(record, Status.FAILED, (str(error),))
    return Finding(record, _compare(record, found), tuple(found))


def _compare(record: Record, found: list[str]) -> Status:
    if record.type == "MX":
        return _among(record, found, lambda value: _name(value.split()[-1]))
    if record.type == "SRV":
        return _among(record, found, _srv_key)
    if record.type in ("A", "AAAA"):
        return _among(record, found, lambda value: value.strip().lower())
    return _compare_txt(record, found)


def _among(record: Record, found: list[str], key: Callable[[str], object]) -> Status:
    """Match when one answer has the key of ours (MX: the host; SRV: port and target)."""
    if not found:
        return Status.MISSING
    keys = set()
    for value in found:
        try:
            keys.add(key(value))
        except (IndexError, ValueError):
            continue
    return Status.MATCH if key(record.value) in keys else Status.DIFFERENT


def _name(value: str) -> str:
    return value.strip().lower().rstrip(".") or "."


def _srv_key(value: str) -> tuple[int, str]:
    _priority, _weight, port, target = value.split()
    return int(port), _name(target)


def _compare_txt(record: Record, found: list[str]) -> Status:
    """TXT records of our kind (the same `v=` word) at the name: none is missing; one saying all we
    say (tags may be added, e.g. DMARC's `pct`) is a match."""
    version = _version(record.value)
    ours = [value for value in found if _version(value) == version]
    if not ours:
        return Status.MISSING
    if record.kind == "spf":
        wanted = record.value.lower().split()
        return Status.MATCH if any(value.lower().split() == wanted for value in ours) else Status.DIFFERENT
    tags = _tags(record.value, exact=_EXACT_TAGS.get(record.kind, frozenset()))
    for value in ours:
        published = _tags(value, exact=_EXACT_TAGS.get(record.kind, frozenset()))
        if all(published.get(key) == wanted for key, wanted in tags.items()):
            return Status.MATCH
    return Status.DIFFERENT


_EXACT_TAGS = {"dkim": frozenset({"p"}), "mta-sts": frozenset({"id"})}  # compared case and all


def _version(value: str) -> str:
    first = value.strip().split(";", 1)[0].split(None, 1)
    return first[0].lower() if first else ""


def _tags(value: str, *, exact: frozenset[str]) -> dict[str, str]:
    """`k=v; k=v` (RFC 6376 §3.2), whitespace in values dropped, case folded outside `exact`."""
    tags: dict[str, str] = {}
    for part in value.split(";"):
        key, equals, tag_value = part.partition("=")
        key = key.strip().lower()
        if equals and key:
            tag_value = "".join(tag_value.split())
            tags[key] = tag_value if key in exact else tag_value.lower()
    return tags


async def _check_alias(record: Record, lookup: Lookup) -> Finding:
    """A CNAME to the web host, or, published instead, the web host's own addresses (A/AAAA)."""
    target = _name(record.value)
    aliases = await lookup.query(record.name, "CNAME")
    if aliases:
        status = Status.MATCH if any(_name(a) == target for a in aliases) else Status.DIFFERENT
        return Finding(record, status, tuple(aliases))
    addresses = set(await lookup.query(record.name, "A")) | set(await lookup.query(record.name, "AAAA"))
    if not addresses:
        return Finding(record, Status.MISSING, ())
    expected = set(await lookup.query(target, "A")) | set(await lookup.query(target, "AAAA"))
    status = Status.MATCH if expected and addresses == expected else Status.DIFFERENT
    return Finding(record, status, tuple(sorted(addresses)))
