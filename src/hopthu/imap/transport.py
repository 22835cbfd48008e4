"""What an IMAP session needs of its connection (the POP3 session's `Transport` has the same shape).

The listener's `StreamTransport` wraps asyncio streams; tests use one in memory
(`tests/imap/conversation.py`). Bytes come in as they arrive, not as lines: the parser is sans-IO
and does the framing itself (lines, literals and their limits, RFC 9051 §4.3), so a transport never
has to know IMAP. A broken connection shows as `ConnectionError` or `ssl.SSLError` from a read or
drain, as asyncio raises them; the session ends quietly on either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Transport(Protocol):
    """One client connection, plain or TLS."""

    @property
    def peer(self) -> str: ...  # the client's IP address ("?" when unknown)

    @property
    def secure(self) -> bool: ...  # TLS is active

    async def read(self) -> bytes: ...  # what arrived next, b"" once the client has closed

    def has_input(self) -> bool: ...  # a read would answer at once (bytes, the end, or an error)

    # Call `callback` once input arrives (None: forget it): IDLE waits on the client and the
    # mailbox's news with one future and no task of its own, for hours, on thousands of connections.
    def on_input(self, callback: Callable[[], None] | None) -> None: ...

    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...  # wait until the client took enough of what was written

    async def start_tls(self) -> None: ...  # bytes sent before the handshake are dropped (CVE-2011-0411)

    def is_closing(self) -> bool: ...  # closed under the session (a BYE from elsewhere, a hang-up)

    def close(self) -> None: ...  # begin closing; `wait_closed` finishes

    async def wait_closed(self) -> None: ...  # at most a few seconds, then the connection is dropped

    def abort(self) -> None: ...  # drop the connection now
