"""The servers and ports a mail program is told to use, and the addresses this installation serves.

Every way of telling (autoconfig, Autodiscover, the Apple profile, the SRV records, the help page)
reads one `Endpoints`, so they cannot disagree. Ports are those really listened on: the running
process's bound ports when known (`Server.ports`), else the configured ones. A port of -1 is a
listener turned off, 0 one picked when the server starts: neither is offered to anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hopthu.config import Settings
from hopthu.errors import HopThuError

MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3 (a path of 256 octets, its angle brackets aside)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One listener a mail program may use."""

    protocol: str  # "imap", "pop3" or "smtp" (submission)
    host: str
    port: int
    tls: bool  # True: TLS from the first byte (RFC 8314); False: STARTTLS/STLS on a plain port
    role: str  # the listener's name in `Server.ports`: "imaps", "imap", "submissions", …


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Every listener offered, implicit TLS first in each protocol (RFC 8314 §3 prefers it)."""

    host: str
    imap: tuple[Endpoint, ...]
    pop3: tuple[Endpoint, ...]
    smtp: tuple[Endpoint, ...]

    def all(self) -> tuple[Endpoint, ...]:
        return self.imap + self.pop3 + self.smtp


# (protocol, role, whether TLS is implicit, settings section, key), implicit TLS first.
LISTENERS = (
    ("imap", "imaps", True, "imap", "tls_port"),
    ("imap", "imap", False, "imap", "port"),
    ("pop3", "pop3s", True, "pop3", "tls_port"),
    ("pop3", "pop3", False, "pop3", "port"),
    ("smtp", "submissions", True, "smtp", "submissions_port"),
    ("smtp", "submission", False, "smtp", "submission_port"),
)


def endpoints(settings: Settings, ports: Mapping[str, int] | None = None) -> Endpoints:
    """The listeners to name, on the server's public host name (`settings.hostname`, the name its
    certificate carries). `ports`: the bound ports by role, when a running process knows them."""
    found: dict[str, list[Endpoint]] = {"imap": [], "pop3": [], "smtp": []}
    for protocol, role, tls, section, key in LISTENERS:
        configured = getattr(getattr(settings, section), key)
        port = ports.get(role, -1) if ports is not None and configured >= 0 else configured
        if port > 0:
            found[protocol].append(Endpoint(protocol, settings.hostname, port, tls, role))
    return Endpoints(settings.hostname, tuple(found["imap"]), tuple(found["pop3"]), tuple(found["smtp"]))


def served_domains(settings: Settings) -> tuple[str, ...]:
    """The main domain first, then the former provinces' domains (R13.7), each once, lower case."""
    domains: list[str] = []
    for domain in (settings.server.domain, *settings.smtp.domain_aliases):
        domain = domain.strip().lower().rstrip(".")
        if domain and domain not in domains:
            domains.append(domain)
    return tuple(domains)


def not_ours(domain: str) -> HopThuError:
    shown = domain[:MAX_ADDRESS]
    return HopThuError(
        f"Máy chủ này không phục vụ tên miền {shown!r}",
        f"This server does not serve the domain {shown!r}",
        code="not_found",
    )


def our_domain(domain: str, settings: Settings) -> str:
    """`domain`, lower case, if this installation serves it; else a refusal naming it."""
    wanted = domain.strip().lower().rstrip(".")
    if wanted not in served_domains(settings):
        raise not_ours(wanted)
    return wanted


def split_address(address: str, settings: Settings) -> tuple[str, str]:
    """(local part, domain) of an address at one of our domains; a bilingual refusal otherwise."""
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if (
        not at
        or not local
        or len(address) > MAX_ADDRESS
        or not address.isprintable()
        or any(c.isspace() or c in '<>"\\' for c in address)
    ):
        shown = address[:MAX_ADDRESS]
        raise HopThuError(
            f"Địa chỉ thư không hợp lệ: {shown!r}", f"Not a valid e-mail address: {shown!r}", code="address"
        )
    return local.lower(), our_domain(domain, settings)


def login_name(local: str, domain: str) -> str:
    """What a mail program signs in with: the address as the person typed it. At the main domain
    that is their mailbox; at a former province's domain (R13.7) it is their old address, which
    signs in to the mailbox it now leads to for the transition the operator sets
    (`former.signin_until`), and is refused after it, when they type their new one."""
    return f"{local}@{domain}"
