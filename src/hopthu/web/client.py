"""Who sent this web request: the TCP peer, or, when that peer is a trusted reverse proxy
(`server.trusted_proxies`), the client the proxy names (`security.proxies`). Sign-in throttling,
the sessions a person sees listed and sign-in records all use this one answer."""

from __future__ import annotations

from functools import lru_cache

from fastapi import Request

from hopthu.config import ServerSettings
from hopthu.security.proxies import TrustedProxies
from hopthu.web.deps import services_of


@lru_cache(maxsize=8)
def _proxies(networks: tuple[str, ...], header: str) -> TrustedProxies:
    return TrustedProxies(networks, header)


def client_address(request: Request) -> str:
    """The real client's IP address ("" when the transport has none)."""
    peer = request.client.host if request.client else ""
    server: ServerSettings = services_of(request).settings.server
    if not server.trusted_proxies:
        return peer
    proxies = _proxies(server.trusted_proxies, server.forwarded_header)
    return proxies.client(peer, request.headers.getlist(server.forwarded_header))
