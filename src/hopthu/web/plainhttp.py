"""The plain HTTP listener in front of the web app: the scheme a trusted proxy reports, and, when
this process speaks HTTPS itself, a permanent redirect to it (R13.5).

Answered over plain HTTP, without a redirect:
- `/healthz`: load balancers and monitoring check backends over plain HTTP, and several take a
  redirect for a failure; the answer names no person and sets no cookie.
- A request that a trusted proxy (`server.trusted_proxies`) says arrived over https: TLS ended at
  the proxy. The app then sees the scheme https, as the client did.
- A client on this machine (loopback), unless `server.allow_plain_http_on_loopback` is false: its
  traffic never crosses a network. A trusted proxy on loopback is not such a client.

Everything else gets `308 Permanent Redirect` (RFC 9110 §15.4.9: the method and body are kept, so
a form posted to the old address is posted again, not turned into a GET) to the same host, path and
query over https. No exception is made for `/.well-known/acme-challenge/`: nothing here answers
ACME challenges, and a certificate tool answering them does so on a port of its own or through the
reverse proxy (docs/deploy.md).

The HTTPS port in the address: when the client named a port (`Host: mail.example:8080`, a port of
our own reached directly) it is our HTTPS listener's; when it named none (port 80, usually forwarded
by a firewall or a proxy to ours) it is none either, i.e. 443.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import quote, urlsplit

from hopthu.config import Settings
from hopthu.security.proxies import TrustedProxies

_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?|\[[0-9A-Fa-f:.]+\])$")
_TEXT = "Hãy dùng HTTPS / Use HTTPS: "
HEALTH_PATH = "/healthz"


def _loopback(peer: str) -> bool:
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def split_host(value: str) -> tuple[str, str] | None:
    """A Host header's name and port ("" when none), or None when it is not a host name or IP
    literal (then the address is `server.web_url`'s host)."""
    value = value.strip()
    if value.startswith("["):
        name, _, rest = value.partition("]")
        name += "]"
        port = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            return None
    else:
        name, _, port = value.partition(":")
    if len(name) > 255 or not _HOST.match(name) or (port and not (port.isdigit() and len(port) <= 5)):
        return None
    return name, port


class PlainHttp:
    """ASGI middleware for the plain HTTP listener; `https_port` is the HTTPS listener's bound port,
    None when this process speaks no HTTPS (TLS ends at a proxy): then nothing is redirected."""

    def __init__(self, app: Any, settings: Settings, https_port: int | None) -> None:
        self.app = app
        self.https_port = https_port
        server = settings.server
        self.proxies = TrustedProxies(server.trusted_proxies, server.forwarded_header)
        self.loopback_plain = server.allow_plain_http_on_loopback
        public = urlsplit(server.web_url)
        self.fallback_host = public.hostname or "localhost"
        self.fallback_port = str(public.port) if public.scheme == "https" and public.port else ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # the app has no websockets; live pages are server-sent events
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else ""
        said = self.proxies.scheme(peer, lambda name: _header_values(scope, name))
        if said == "https":
            await self.app({**scope, "scheme": "https"}, receive, send)
            return
        proxied = self.proxies.trusts_peer(peer)
        if (
            self.https_port is None
            or scope["path"] == HEALTH_PATH
            or (self.loopback_plain and not proxied and _loopback(peer))
        ):
            await self.app(scope, receive, send)
            return
        await self._redirect(scope, send)

    def location(self, scope: Any) -> str:
        """The same host, path and query over https."""
        hosts = _header_values(scope, "host")
        found = split_host(hosts[0]) if len(hosts) == 1 else None
        if found is None:
            host, port = self.fallback_host, self.fallback_port
        else:
            host, named = found
            port = str(self.https_port) if named else ""
        if port == "443":
            port = ""
        raw = scope.get("raw_path") or quote(scope["path"]).encode()
        path = raw.decode("latin-1")
        if not path.startswith("/"):  # an absolute-form target's path was split off by the server
            path = "/" + path
        query = scope.get("query_string", b"").decode("latin-1")
        return f"https://{host}{':' + port if port else ''}{path}{'?' + query if query else ''}"

    async def _redirect(self, scope: Any, send: Any) -> None:
        location = self.location(scope)
        body = (_TEXT + location + "\n").encode()
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _header_values(scope: Any, name: str) -> list[str]:
    wanted = name.encode()
    return [value.decode("latin-1") for key, value in scope.get("headers", ()) if key == wanted]
