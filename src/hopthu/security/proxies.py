"""The real client of a web request behind reverse proxies we trust, and only those.

Behind a reverse proxy every TCP peer is the proxy: throttling by the peer would pause the whole city
at once (five wrong passwords of one person), and sessions and sign-in records would all name the
proxy. The proxy names the client in a header; anyone can send that header too, so it is read only
when the TCP peer is one of the configured trusted proxies (`server.trusted_proxies`, empty by
default: trust nobody), and only the header they are configured to write (`server.forwarded_header`).

Each proxy appends the address it received the request from, so the list is read from the right:
trusted proxies are skipped and the first address that is not one of them is the client, whatever a
client wrote further left (X-Forwarded-For; RFC 7239 §5.2 `for=` of `Forwarded`; §8.1 on which
headers can be trusted).

The scheme the client used (a proxy ending TLS talks plain HTTP to us) comes the same way: from
`X-Forwarded-Proto` beside `X-Forwarded-For`, or the `proto=` of `Forwarded` (RFC 7239 §5.4), only
from a trusted proxy. It is the left-most value, the one the proxy facing the client wrote; a client
that writes its own there only changes what it is answered itself (a page instead of a redirect).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    try:
        found = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    mapped = getattr(found, "ipv4_mapped", None)
    return mapped or found


def forwarded_for(values: Iterable[str]) -> list[str]:
    """The `for=` node of each element of RFC 7239 `Forwarded` header values, in order; an element
    without one (or with an obfuscated or `unknown` node) gives "" so it stops the walk."""
    nodes: list[str] = []
    for value in values:
        for element in value.split(","):
            node = ""
            for pair in element.split(";"):
                name, _, given = pair.strip().partition("=")
                if name.strip().lower() == "for":
                    node = given.strip().strip('"')
            if node.startswith("["):  # "[2001:db8::1]:4711" (RFC 7239 §6)
                node = node[1:].partition("]")[0]
            elif node.count(":") == 1:  # "192.0.2.43:47011"
                node = node.partition(":")[0]
            nodes.append(node)
    return nodes


def forwarded_proto(values: Iterable[str]) -> str:
    """The first `proto=` of RFC 7239 `Forwarded` header values, lower-cased ("" if none)."""
    for value in values:
        for element in value.split(","):
            for pair in element.split(";"):
                name, _, given = pair.strip().partition("=")
                if name.strip().lower() == "proto":
                    return given.strip().strip('"').lower()
    return ""


def x_forwarded_proto(values: Iterable[str]) -> str:
    """The left-most `X-Forwarded-Proto` value, lower-cased ("" if none)."""
    for value in values:
        for item in value.split(","):
            if item.strip():
                return item.strip().lower()
    return ""


def x_forwarded_for(values: Iterable[str]) -> list[str]:
    """The addresses of `X-Forwarded-For` header values, in order (several headers join as one)."""
    return [item.strip() for value in values for item in value.split(",")]


class TrustedProxies:
    def __init__(self, networks: Iterable[str], header: str = "x-forwarded-for") -> None:
        self.networks: tuple[Network, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        self.header = header

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def trusts_peer(self, peer: str) -> bool:
        """Whether the TCP peer (as text) is one of the trusted proxies."""
        return bool(self.networks) and self.trusts(_address(peer))

    def scheme(self, peer: str, headers: Callable[[str], list[str]]) -> str:
        """The scheme a trusted proxy says the client used ("https", "http"), "" when `peer` is not
        a trusted proxy or it says nothing; `headers(name)` gives a request header's values."""
        if not self.trusts_peer(peer):
            return ""
        if self.header == "forwarded":
            return forwarded_proto(headers("forwarded"))
        return x_forwarded_proto(headers("x-forwarded-proto"))

    def client(self, peer: str, header_values: list[str]) -> str:
        """The client's address: `peer` itself unless it is a trusted proxy, then the right-most
        address of the header that is not a trusted proxy (the nearest trusted hop when the header
        ends in something that is not an address)."""
        if not self.networks or not self.trusts(_address(peer)):
            return peer
        read = forwarded_for if self.header == "forwarded" else x_forwarded_for
        chain = read(header_values)
        nearest = peer
        for text in reversed(chain):
            address = _address(text)
            if address is None:
                return nearest
            if not self.trusts(address):
                return str(address)
            nearest = str(address)
        return nearest
