"""Connection limits, in total and per client address, shared by every listener of the process.

Every protocol runs on one event loop, so a client that opens connections without end (or a botnet
doing it from a few addresses) would otherwise take every file descriptor and the memory of every
session. Each listener kind (MX, submission, IMAP, POP3, HTTP) has one `ConnectionLimits`: a count
per address and a total, taken when a connection is admitted and given back when it closes. An
address whose count falls to zero is forgotten, so memory is bounded by the open connections, never
by how many addresses have ever connected.

IPv6 clients are counted per /64: one host usually holds a whole /64 and could otherwise take a new
address for every connection (RFC 4291 §2.5.1, RFC 8981 temporary addresses).

Refusals are answered by each protocol in its own words (SMTP `421 4.7.0`, IMAP `* BYE`, POP3
`-ERR`, HTTP 503) before the connection closes; this module only counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("hopthu.security.connections")

REFUSAL_LOG_INTERVAL = 60.0  # seconds between warnings about refused connections, per listener kind


class Refused(enum.Enum):
    TOTAL = "total"  # the listener kind holds its maximum of connections
    ADDRESS = "address"  # this client address holds its maximum


def address_key(address: str) -> str:
    """The key a client is counted under: its IPv4 address, or the /64 of its IPv6 address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # a UNIX socket path or an empty peer: counted as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class ConnectionLimits:
    """Open connections of one listener kind; `admit` before serving, `release` when closed."""

    def __init__(
        self,
        kind: str,
        *,
        total: int,
        per_address: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kind = kind
        self.max_total = total
        self.max_per_address = per_address
        self.total = 0
        self.refused = 0  # since start, for /metrics and the log
        self.admitted = 0  # since start, for /metrics
        self.commands = 0  # commands (HTTP: requests) on these connections since start, for /metrics
        self._by_address: dict[str, int] = {}
        self._clock = clock
        self._last_warning = -REFUSAL_LOG_INTERVAL

    def admit(self, address: str) -> Refused | None:
        """Counts the connection and returns None, or returns why it is refused (nothing counted)."""
        key = address_key(address)
        held = self._by_address.get(key, 0)
        refusal = None
        if self.total >= self.max_total:
            refusal = Refused.TOTAL
        elif held >= self.max_per_address:
            refusal = Refused.ADDRESS
        if refusal is not None:
            self._note_refusal(key, refusal)
            return refusal
        self._by_address[key] = held + 1
        self.total += 1
        self.admitted += 1
        return None

    def release(self, address: str) -> None:
        """Gives back one admitted connection of `address` (call exactly once per admission)."""
        key = address_key(address)
        held = self._by_address.get(key, 0)
        if held <= 0:
            log.error("%s connection released for %s that held none", self.kind, key)
            return
        if held == 1:
            del self._by_address[key]
        else:
            self._by_address[key] = held - 1
        self.total -= 1

    def held_by(self, address: str) -> int:
        return self._by_address.get(address_key(address), 0)

    @property
    def addresses(self) -> int:
        """How many distinct addresses (or /64s) hold connections now: the memory this costs."""
        return len(self._by_address)

    def _note_refusal(self, key: str, refusal: Refused) -> None:
        """One warning a minute at most: a flood must not become a flood of log lines."""
        self.refused += 1
        now = self._clock()
        if now - self._last_warning >= REFUSAL_LOG_INTERVAL:
            self._last_warning = now
            log.warning(
                "%s connection from %s refused (%s limit; %d open, %d refused since start)",
                self.kind,
                key,
                refusal.value,
                self.total,
                self.refused,
            )


def refusal_words(refusal: Refused) -> tuple[str, str]:
    """What a refused client is told, Vietnamese (without diacritics, for 7-bit protocols) and English."""
    if refusal is Refused.TOTAL:
        return (
            "May chu dang qua tai, hay thu lai sau",
            "Too many connections to this server, try again later",
        )
    return (
        "Qua nhieu ket noi tu dia chi cua ban, hay dong bot",
        "Too many connections from your address, close some and try again",
    )


ABORT_AFTER = 2.0  # seconds a refused or expired client gets to take our last words before the drop


def say_and_close(transport: Any, last_words: bytes) -> None:
    """Writes a protocol's closing line and closes; a client that does not read it is dropped soon
    after, so no buffer waits on it."""
    if transport.is_closing():
        return
    transport.write(last_words)  # an asyncio or uvloop transport (the latter no asyncio subclass)
    transport.close()
    asyncio.get_running_loop().call_later(ABORT_AFTER, _abort, transport)


def _abort(transport: Any) -> None:
    with contextlib.suppress(Exception):  # already gone: nothing to drop
        transport.abort()


def peer_address(transport: Any) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""
