"""Connection limits for the HTTP listener: uvicorn's own protocol, counted per address and in total.

`uvicorn`'s `limit_concurrency` counts only a total, and only requests; a client holding hundreds of
idle keep-alive connections from one address is not stopped by it. This protocol class admits each
connection through `security.connections` before uvicorn sees it; one over the limits is answered
`503 Service Unavailable` with `Retry-After` (RFC 9110 §15.6.4) and closed without reading a byte.

Uvicorn has no deadline for a request's head either: a client that connects and sends nothing, or
drips a header a minute, holds its connection for ever. A connection that has not sent a whole
request head within `limits.prelogin_timeout_seconds` is answered `408 Request Timeout` (RFC 9110
§15.5.9) and closed; later requests on a kept-alive connection have uvicorn's keep-alive timer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from hopthu.security.connections import ConnectionLimits, Refused, peer_address, say_and_close

RETRY_AFTER = 30  # seconds


def _unavailable(refusal: Refused) -> bytes:
    if refusal is Refused.TOTAL:
        text = "Máy chủ đang quá tải, hãy thử lại sau / Too many connections to this server, try again later"
    else:
        text = (
            "Quá nhiều kết nối từ địa chỉ của bạn, hãy thử lại sau / "
            "Too many connections from your address, try again later"
        )
    body = (text + "\n").encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Retry-After: {RETRY_AFTER}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


_TIMEOUT_TEXT = b"Het thoi gian gui yeu cau / Request not sent in time\n"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_TIMEOUT_TEXT), _TIMEOUT_TEXT)
)


def limited_http_protocol(limits: ConnectionLimits, first_request_timeout: float) -> type[asyncio.Protocol]:
    """A uvicorn HTTP protocol class (for `uvicorn.Config(http=...)`) bound to these limits."""
    base: Any = AutoHTTPProtocol

    class LimitedHTTPProtocol(base):
        _address: str | None = None
        _refused = False
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            address = peer_address(transport)
            refusal = limits.admit(address)
            if refusal is not None:
                self._refused = True
                say_and_close(transport, _unavailable(refusal))
                return
            self._address = address
            super().connection_made(transport)
            self._deadline = self.loop.call_later(first_request_timeout, self._first_request_late)

        def _first_request_late(self) -> None:
            self._deadline = None
            if self.cycle is None:  # uvicorn makes a cycle once a request's head is complete
                say_and_close(self.transport, REQUEST_TIMEOUT)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            if self._deadline is not None:
                self._deadline.cancel()
            if self._address is not None:
                limits.release(self._address)
                self._address = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if not self._refused:
                super().data_received(data)

        def eof_received(self) -> None:
            if not self._refused:
                super().eof_received()

        def pause_writing(self) -> None:
            if not self._refused:
                super().pause_writing()

        def resume_writing(self) -> None:
            if not self._refused:
                super().resume_writing()

    return LimitedHTTPProtocol
