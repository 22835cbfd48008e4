"""SPF (RFC 7208): may this IP address send mail for the envelope sender's domain?

Our own evaluator rather than pyspf because pyspf asks the DNS itself, and every DNS question of the
mail system goes through the one `Resolver` (tests answer it, production shares its timeouts).
A record is parsed whole before any of it is evaluated, so a syntax error anywhere is a permerror
(RFC 7208 §4.6). What is left out: the `exp` modifier's explanation text (we reject with our own
words, §6.2) and the `%{p}` macro's reverse lookup (it expands to "unknown", which §7.3 allows when
no validated name is found, and §7.3 asks senders not to use it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import urllib.parse
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from hopthu.smtp.authresults import Result
from hopthu.smtp.dns import DnsError, Resolver
from hopthu.smtp.orgdomain import ascii_domain

MAX_LOOKUPS = 10  # RFC 7208 §4.6.4: include, a, mx, ptr, exists and redirect together
MAX_VOID_LOOKUPS = 2  # §4.6.4: lookups answering NXDOMAIN or no records
MAX_MX_HOSTS = 10  # §4.6.4: more MX hosts than this is a permerror
MAX_PTR_NAMES = 10  # §4.6.4: further PTR names are ignored
TIME_LIMIT = 20.0  # §4.6.4: "SHOULD allow at least 20 seconds", then temperror

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
T = TypeVar("T")

_QUALIFIERS = {"+": Result.PASS, "-": Result.FAIL, "~": Result.SOFTFAIL, "?": Result.NEUTRAL}
_MECHANISMS = {"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
# §12 ABNF: macro-string, with the letters valid outside `exp` (§7.2: c, r, t only there).
# §7.3: a digit transformer "MUST be nonzero".
_MACRO = r"%\{[slodiphvSLODIPHV](?:[1-9][0-9]*)?[rR]?[.\-+,/_=]*\}"
_MACRO_STRING = re.compile(rf"(?:{_MACRO}|%%|%_|%-|[\x21-\x24\x26-\x7e])*")
_MACRO_EXPAND = re.compile(r"%\{([a-zA-Z])([0-9]*)([rR]?)([.\-+,/_=]*)\}|%%|%_|%-")
# §4.8 domain-end: "." toplabel ["."], or a macro.
_DOMAIN_END = re.compile(
    r"(?:\.(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])\.?|\})$"
)
_ESCAPES = {"%%": "%", "%_": " ", "%-": "%20"}
_CIDR_TAIL = re.compile(r"(.*?)(?:/([0-9]+))?(?://([0-9]+))?")
_MODIFIER = re.compile(r"([A-Za-z][A-Za-z0-9_.\-]*)=(.*)")
_MECHANISM = re.compile(r"([+\-~?]?)([A-Za-z][A-Za-z0-9_.\-]*)(.*)")
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


class _PermError(Exception):
    """The record is broken or too costly: the result is permerror (§2.6.7)."""


class _TempError(Exception):
    """The DNS did not answer: the result is temperror (§2.6.6)."""


@dataclass(frozen=True)
class SpfOutcome:
    result: Result
    domain: str  # the domain whose record was checked (MAIL FROM's, or HELO's for a null sender)
    reason: str = ""


@dataclass(frozen=True)
class _Directive:
    qualifier: Result
    mechanism: str
    domain_spec: str | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    v4_prefix: int = 32
    v6_prefix: int = 128


@dataclass(frozen=True)
class _Record:
    directives: tuple[_Directive, ...]
    redirect: str | None


def valid_domain(domain: str) -> bool:
    """§4.3: at least two labels, none empty or longer than 63 octets, 253 octets at most."""
    labels = domain.split(".")
    return len(domain) <= 253 and len(labels) > 1 and all(_LABEL.fullmatch(label) for label in labels)


def _domain_spec(text: str) -> str:
    if not text or not _MACRO_STRING.fullmatch(text) or not _DOMAIN_END.search(text):
        raise _PermError(f"bad domain-spec {text!r}")
    return text


def _prefix(text: str | None, maximum: int) -> int:
    """§5.6 ip4-cidr-length / ip6-cidr-length: no leading zeros, within the address size."""
    if text is None:
        return maximum
    if (len(text) > 1 and text.startswith("0")) or int(text) > maximum:
        raise _PermError(f"bad prefix length /{text}")
    return int(text)


def _directive(qualifier: Result, name: str, rest: str) -> _Directive:
    """One mechanism with its argument (§5.1-5.7)."""
    if name == "all":
        if rest:
            raise _PermError(f"bad mechanism all{rest}")
        return _Directive(qualifier, name)
    if name in ("include", "exists"):
        if not rest.startswith(":"):
            raise _PermError(f"{name} needs a domain")
        return _Directive(qualifier, name, _domain_spec(rest[1:]))
    if name in ("ip4", "ip6"):
        address, slash, length = rest[1:].partition("/")
        try:
            if not rest.startswith(":") or (slash and not length):
                raise ValueError(rest)
            kind, bits = (ipaddress.IPv4Address, 32) if name == "ip4" else (ipaddress.IPv6Address, 128)
            network = ipaddress.ip_network(f"{kind(address)}/{_prefix(length or None, bits)}", strict=False)
        except ValueError:
            raise _PermError(f"bad {name}{rest}") from None
        return _Directive(qualifier, name, network=network)
    # a, mx, ptr: [":" domain-spec], and a dual CIDR length for a and mx (§5.3, §5.4, §5.5)
    match = _CIDR_TAIL.fullmatch(rest)
    assert match is not None  # every string matches
    spec, v4, v6 = match.groups()
    if name == "ptr" and (v4 or v6):
        raise _PermError("ptr takes no prefix length")
    if spec and not spec.startswith(":"):
        raise _PermError(f"bad mechanism {name}{rest}")
    return _Directive(
        qualifier,
        name,
        _domain_spec(spec[1:]) if spec else None,
        v4_prefix=_prefix(v4, 32),
        v6_prefix=_prefix(v6, 128),
    )


def _parse_record(text: str) -> _Record:
    """A whole record, or `_PermError` (§4.6.1 and the ABNF of §12)."""
    directives: list[_Directive] = []
    modifiers: dict[str, str] = {}
    for term in text.split()[1:]:  # the first term is "v=spf1"
        modifier = _MODIFIER.fullmatch(term)
        if modifier:
            name, value = modifier.group(1).lower(), modifier.group(2)
            if name in ("redirect", "exp"):
                if name in modifiers:
                    raise _PermError(f"{name} given twice")  # §6
                modifiers[name] = _domain_spec(value)
            elif not _MACRO_STRING.fullmatch(value):  # §6: unknown modifiers are ignored if valid
                raise _PermError(f"bad modifier {term}")
            continue
        mechanism = _MECHANISM.fullmatch(term)
        if not mechanism or mechanism.group(2).lower() not in _MECHANISMS:
            raise _PermError(f"unknown mechanism {term}")  # §5
        qualifier, name, rest = mechanism.groups()
        directives.append(_directive(_QUALIFIERS[qualifier or "+"], name.lower(), rest))
    return _Record(tuple(directives), modifiers.get("redirect"))


def _is_spf(text: str) -> bool:
    """§4.5: the version section is exactly "v=spf1", then a space or the end."""
    return text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " ")


class _Evaluation:
    """One run of check_host() with its shared DNS budget (§4.6.4)."""

    def __init__(self, ip: IPAddress, sender: str, helo: str, resolver: Resolver) -> None:
        self.ip = ip
        self.sender = sender
        self.helo = helo
        self.resolver = resolver
        self.lookups = 0
        self.void_lookups = 0

    def _count_lookup(self) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise _PermError(f"more than {MAX_LOOKUPS} DNS lookups")

    def _count_void(self, answers: list) -> None:
        if not answers:
            self.void_lookups += 1
            if self.void_lookups > MAX_VOID_LOOKUPS:
                raise _PermError(f"more than {MAX_VOID_LOOKUPS} void lookups")

    async def _dns(self, question: Awaitable[T]) -> T:
        try:
            return await question
        except DnsError as error:
            raise _TempError(str(error)) from None

    async def _addresses(self, host: str, family: int | None = None) -> list[IPAddress]:
        """The host's addresses of the client's family (or of `family`)."""
        found = [ipaddress.ip_address(a) for a in await self._dns(self.resolver.addresses(host))]
        return [a for a in found if a.version == (family or self.ip.version)]

    def _in(self, address: IPAddress, directive: _Directive) -> bool:
        prefix = directive.v4_prefix if address.version == 4 else directive.v6_prefix
        return self.ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False)

    def expand(self, spec: str, domain: str) -> str:
        return expand_macros(spec, sender=self.sender, domain=domain, ip=self.ip, helo=self.helo)

    async def check_host(self, domain: str) -> Result:
        """§4: the record of `domain`, evaluated term by term (§4.6.2), then redirect (§6.1)."""
        if not valid_domain(domain):
            return Result.NONE  # §4.3
        records = [r for r in await self._dns(self.resolver.txt(domain)) if _is_spf(r)]
        if not records:
            return Result.NONE  # §4.5
        if len(records) > 1:
            raise _PermError(f"{len(records)} SPF records at {domain}")
        record = _parse_record(records[0])
        for directive in record.directives:
            if await self._matches(directive, domain):
                return directive.qualifier
        if record.redirect is not None:
            self._count_lookup()
            target = self.expand(record.redirect, domain)
            result = await self.check_host(target)
            if result is Result.NONE:
                raise _PermError(f"redirect to {target}, which has no SPF record")  # §6.1
            return result
        return Result.NEUTRAL  # §4.7

    async def _matches(self, d: _Directive, domain: str) -> bool:
        if d.mechanism == "all":
            return True  # §5.1
        if d.mechanism in ("ip4", "ip6"):
            return d.network is not None and self.ip in d.network  # §5.6
        self._count_lookup()
        target = self.expand(d.domain_spec, domain) if d.domain_spec else domain
        if d.mechanism == "include":  # §5.2
            result = await self.check_host(target)
            if result is Result.NONE:
                raise _PermError(f"include of {target}, which has no SPF record")
            return result is Result.PASS
        if not valid_domain(target):  # a name no DNS query could answer: a void lookup
            self._count_void([])
            return False
        if d.mechanism == "a":  # §5.3
            addresses = await self._addresses(target)
            self._count_void(addresses)
            return any(self._in(a, d) for a in addresses)
        if d.mechanism == "mx":  # §5.4
            hosts = [host for _, host in await self._dns(self.resolver.mx(target)) if host]
            self._count_void(hosts)
            if len(hosts) > MAX_MX_HOSTS:
                raise _PermError(f"{target} has more than {MAX_MX_HOSTS} MX hosts")
            for host in hosts:
                if any(self._in(a, d) for a in await self._addresses(host)):
                    return True
            return False
        if d.mechanism == "exists":  # §5.7: an A query, whatever the client's address family
            addresses = await self._addresses(target, family=4)
            self._count_void(addresses)
            return bool(addresses)
        return await self._ptr_matches(target)

    async def _ptr_matches(self, target: str) -> bool:
        """§5.5: a validated reverse name equal to or under `target`; DNS errors only fail to match."""
        try:
            names = (await self.resolver.ptr(str(self.ip)))[:MAX_PTR_NAMES]
        except DnsError:
            return False
        self._count_void(names)
        for name in names:
            name = ascii_domain(name)
            if name != target and not name.endswith("." + target):
                continue
            try:
                if self.ip in await self._addresses(name):
                    return True
            except _TempError:
                continue
        return False


def expand_macros(spec: str, *, sender: str, domain: str, ip: IPAddress, helo: str) -> str:
    """§7: macro expansion of a domain-spec, truncated on the left to 253 octets (§7.3)."""
    local, _, sender_domain = sender.rpartition("@")
    values = {
        "s": sender,
        "l": local,
        "o": sender_domain,
        "d": domain,
        "i": _dotted(ip),
        "p": "unknown",
        "v": "in-addr" if ip.version == 4 else "ip6",
        "h": helo,
    }

    def one(match: re.Match[str]) -> str:
        text = match.group(0)
        if text in _ESCAPES:
            return _ESCAPES[text]
        letter, digits, reverse, delimiters = match.groups()
        parts = re.split("[" + re.escape(delimiters or ".") + "]", values[letter.lower()])
        if reverse:
            parts.reverse()
        if digits:
            parts = parts[-int(digits) :]
        value = ".".join(parts)
        # §7.3: an upper-case macro letter means URL-escaped.
        return urllib.parse.quote(value, safe="-._~") if letter.isupper() else value

    name = _MACRO_EXPAND.sub(one, spec).rstrip(".")
    while len(name) > 253 and "." in name:
        name = name.split(".", 1)[1]
    return name.lower()


def _dotted(ip: IPAddress) -> str:
    """§7.3 %{i}: dotted quad, or for IPv6 32 dot-separated nibbles."""
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", ""))


def _client_address(text: str) -> IPAddress:
    """The connecting address; an IPv4-mapped IPv6 address (RFC 4291 §2.5.5.2) counts as IPv4 (§5)."""
    ip = ipaddress.ip_address(text)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


async def check_host(ip: str, sender: str, *, helo: str, resolver: Resolver) -> SpfOutcome:
    """The SPF result for mail from `sender` (the MAIL FROM address, "" for the null sender).

    §2.4: a null sender is checked as postmaster@<HELO name>; §4.3: a sender without a local part
    gets "postmaster".
    """
    local, _, domain = sender.rpartition("@") if sender else ("", "", helo)
    domain = ascii_domain(domain)
    run = _Evaluation(_client_address(ip), f"{local or 'postmaster'}@{domain}", helo, resolver)
    try:
        async with asyncio.timeout(TIME_LIMIT):
            return SpfOutcome(await run.check_host(domain), domain)
    except _PermError as error:
        return SpfOutcome(Result.PERMERROR, domain, str(error))
    except (_TempError, TimeoutError) as error:
        return SpfOutcome(Result.TEMPERROR, domain, str(error) or "time limit")
