"""DNS blocklists (RFC 5782): is the connecting address listed in a zone such as zen.spamhaus.org?

Asked through our own resolver (`smtp.dns`), so tests and closed networks answer from a file. A
failure to get an answer is "not listed": a blocklist that cannot be reached must not stop the mail.
Only 127.0.0.0/8 answers count; other answers are the zone's error codes (Spamhaus answers
127.255.255.x to queries it refuses, e.g. through public resolvers).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence

from hopthu.smtp.dns import DnsError, Resolver


def query_name(address: str, zone: str) -> str | None:
    """The name to look up for `address` in `zone`; None for addresses never listed (loopback,
    private networks)."""
    ip = ipaddress.ip_address(address)
    if not ip.is_global:
        return None
    if ip.version == 4:
        return ".".join(reversed(str(ip).split("."))) + "." + zone
    return ".".join(reversed(ip.exploded.replace(":", ""))) + "." + zone


async def _listed_in(resolver: Resolver, address: str, zone: str) -> str | None:
    name = query_name(address, zone)
    if name is None:
        return None
    try:
        answers = await resolver.addresses(name)
    except DnsError:
        return None
    for answer in answers:
        try:
            ip = ipaddress.ip_address(answer)
        except ValueError:
            continue
        if ip.version == 4 and str(ip).startswith("127.") and not str(ip).startswith("127.255.255."):
            return zone
    return None


async def listed(resolver: Resolver, address: str, zones: Sequence[str]) -> str | None:
    """The first zone (in the configured order) that lists `address`, or None; zones asked together."""
    if not zones:
        return None
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    found = await asyncio.gather(*(_listed_in(resolver, address, zone) for zone in zones))
    return next((zone for zone in found if zone is not None), None)
