"""A bound on HTTP request bodies, as a pure ASGI middleware in front of every page and the API.

The webmail and portal run in the process that carries the city's mail, so a client must not make it
read (or spool) an endless body. A declared `Content-Length` over the limit is answered 413 at once,
before a byte of the body is read (RFC 9110 §15.5.14); a body without one (chunked, RFC 9112 §7.1)
is counted as it streams in and refused the moment it passes the limit. Either way the connection is
closed after the answer, so the rest of the body is never read. The limit, `limits.max_request_body`,
is R5.1's 20 MB of attachments plus room for the message's text and the form's other fields; the
compose page then applies R5.1 itself to the decoded attachments. Uvicorn hands the body over in
pieces and stops reading the socket while a piece waits, and Starlette spools uploaded files to disk
past 1 MB, so what is held in memory stays small whatever is sent.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

Scope = dict[str, Any]
Message = dict[str, Any]


class RequestBodyTooLarge(HTTPException):
    """Raised from `receive` when the body passes the limit: a route that does not catch it answers 413."""

    def __init__(self) -> None:
        super().__init__(413)


def _words(limit: int) -> bytes:
    megabytes = f"{limit / 1024 / 1024:.0f} MB"
    return (
        f"Dữ liệu gửi lên quá lớn (tối đa {megabytes}) / What was sent is too large (at most {megabytes})\n"
    ).encode()


class BodyLimit:
    """`larger`: paths allowed a larger body than `max_body` (the import of an archive, R13.7);
    `under`: path prefixes with a limit of their own (CardDAV, which never takes an upload)."""

    def __init__(
        self,
        app: Any,
        *,
        max_body: int,
        larger: dict[str, int] | None = None,
        under: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.larger = larger or {}
        self.under = under or {}

    def limit_for(self, path: str) -> int:
        if path in self.larger:
            return self.larger[path]
        for prefix, limit in self.under.items():
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.max_body

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, limit)
            return
        await _Bounded(self, receive, send, limit).run(scope)

    async def _refuse(self, send: Any, limit: int) -> None:
        body = _words(limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the unread body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _Bounded:
    """One request whose body is counted as the app reads it."""

    def __init__(self, limit: BodyLimit, receive: Any, send: Any, max_body: int) -> None:
        self.limit = limit
        self.max_body = max_body
        self._receive = receive
        self._send = send
        self.read = 0
        self.over = False
        self.started = False

    async def run(self, scope: Scope) -> None:
        try:
            await self.limit.app(scope, self.receive, self.send)
        except RequestBodyTooLarge:
            if not self.started:
                self.started = True
                await self.limit._refuse(self._send, self.max_body)

    async def receive(self) -> Message:
        if self.over:
            raise RequestBodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.max_body:
                self.over = True
                raise RequestBodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        """Once the body was too large, whatever the app made of the error (some routes turn any
        form error into 400) becomes our 413."""
        if not self.over:
            if message["type"] == "http.response.start":
                self.started = True
            await self._send(message)
            return
        if message["type"] == "http.response.start" and not self.started:
            self.started = True
            await self.limit._refuse(self._send, self.max_body)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the HTTP layer refuses a malformed length itself
    return None
