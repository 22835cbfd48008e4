"""The CardDAV front: an ASGI application, mounted at `/dav`, that signs the person in on the event
loop and hands the request to Radicale in a thread.

For each request that carries Basic credentials (RFC 7617) the front asks
`Authenticator.sign_in` with protocol "carddav": the same password check, throttle (R13.3), state
rules (R5.2, R6) and access log (R13.4) as IMAP. A refusal is answered here, in Vietnamese and
English: 401 with a new challenge for a wrong password, 429 while paused, 403 for a mailbox that may
not sign in. A signed-in request gets the current snapshot (`snapshot.CityBook`) and both go to the
thread in context variables (`plugins.VERIFIED`, `plugins.SNAPSHOT`). A request without
credentials goes to Radicale as it is, which asks for them (401).

Radicale runs in a2wsgi's pool of `WORKERS` threads, so the loop never waits on it; the request body
is bounded before it gets here (`web.bodylimit`, `MAX_BODY` under this mount). Radicale's own
pauses after failures are off: the throttle is ours.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any, Literal

from a2wsgi import WSGIMiddleware
from radicale import Application, config
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from hopthu.carddav import PREFIX, plugins
from hopthu.carddav.snapshot import CityBook
from hopthu.directory.auth import Refusal, SignInRefused
from hopthu.services import Services
from hopthu.web.client import client_address

__all__ = ["MAX_BODY", "PREFIX", "WELL_KNOWN", "DavFront"]
WELL_KNOWN = "/.well-known/carddav"  # RFC 6764 §5
WORKERS = 4  # Radicale threads; more requests wait their turn on the loop
MAX_BODY = 1024 * 1024  # a REPORT naming a few thousand cards; nothing is ever uploaded
MAX_CREDENTIALS = 1024  # bytes of a Basic Authorization header's value read
REALM = "Hop Thu - danh ba thanh pho"
_DROPPED_HEADERS = {b"x-script-name"}  # Radicale would build every href on a client's say-so

log = logging.getLogger("hopthu.carddav")


def radicale_app() -> Application:
    """Radicale with our plugins and nothing of its own that keeps state or serves pages."""
    configuration = config.load()
    configuration.update(
        {
            "auth": {"type": plugins.Auth, "delay": "0", "cache_logins": "False", "realm": REALM},
            "rights": {"type": plugins.Rights},
            "storage": {"type": plugins.Storage},
            "web": {"type": "none"},
            "sharing": {"type": "none"},
            "hook": {"type": "none"},
            "logging": {"mask_passwords": "True"},
        },
        "hopthu",
    )
    logging.getLogger("radicale").setLevel(logging.WARNING)  # a line per request is the access log's
    return Application(configuration)


def _credentials(scope: dict[str, Any]) -> tuple[str, str] | Literal[False] | None:
    """(login, password) from a Basic Authorization header; None without one; False if unreadable."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, encoded = value.partition(b" ")
            if scheme.lower() != b"basic":
                return None
            if len(encoded) > MAX_CREDENTIALS:
                return False
            try:
                login, colon, password = (
                    base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                return False
            return (login, password) if colon and login else False
    return None


def _client(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"user-agent":
            return value.decode("latin-1")[:200]
    return ""


async def _answer(send: Any, status: int, vi: str, en: str, *, challenge: bool = False) -> None:
    body = f"{vi} / {en}\n".encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    if challenge:
        headers.append((b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_STATUS = {Refusal.BAD_CREDENTIALS: 401, Refusal.THROTTLED: 429}
# Radicale's own plain-text refusals, said again in both languages (its XML answers are kept).
_WORDS = {
    401: ("Cần đăng nhập bằng địa chỉ thư và mật khẩu", "Sign in with your mail address and password"),
    403: (
        "Không được phép: danh bạ thành phố chỉ đọc, và mỗi người chỉ xem danh bạ trong thư mục của mình",
        "Not allowed: the city's address book is read-only, and each person reads it in their own home",
    ),
    404: ("Không có mục này trong danh bạ", "There is no such entry in the address book"),
    405: ("Danh bạ không nhận thao tác này", "The address book does not take this request"),
}


class _SaidInWords:
    """Wraps `send`: a plain-text refusal of Radicale's becomes ours, in Vietnamese and English."""

    def __init__(self, send: Any) -> None:
        self._send = send
        self._replacing: bytes | None = None

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", ()))
            words = _WORDS.get(message["status"])
            if words and headers.get(b"content-type", b"").startswith(b"text/plain"):
                self._replacing = f"{words[0]} / {words[1]}\n".encode()
                kept = [
                    (n, v)
                    for n, v in message.get("headers", ())
                    if n not in (b"content-length", b"content-type")
                ]
                message = {
                    **message,
                    "headers": [
                        *kept,
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(self._replacing)).encode()),
                    ],
                }
            await self._send(message)
            return
        if self._replacing is not None and message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await self._send({"type": "http.response.body", "body": self._replacing})
            return
        await self._send(message)


class DavFront:
    """The ASGI application mounted at `PREFIX`."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.book = CityBook(services.store.db, services.settings.server.domain)
        self.radicale: Any = WSGIMiddleware(radicale_app(), workers=WORKERS)  # typed for its own scopes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        scope = {
            **scope,
            "headers": [(n, v) for n, v in scope.get("headers", ()) if n not in _DROPPED_HEADERS],
        }
        credentials = _credentials(scope)
        if credentials is False:
            await _answer(
                send, 401, "Thông tin đăng nhập không đọc được", "Unreadable credentials", challenge=True
            )
            return
        if credentials is None:
            await self.radicale(scope, receive, _SaidInWords(send))  # Radicale asks for credentials
            return
        login, password = credentials
        try:
            identity = await self.services.authenticator.sign_in(
                login,
                password,
                source=client_address(Request(scope)),
                protocol="carddav",
                client=_client(scope),
            )
        except SignInRefused as refused:
            status = _STATUS.get(refused.refusal, 403)
            await _answer(send, status, refused.vi, refused.en, challenge=status == 401)
            return
        snapshot = await self.book.current()
        verified = plugins.VERIFIED.set(plugins.Verified(login, plugins.digest(password), identity.local))
        current = plugins.SNAPSHOT.set(snapshot)
        try:
            await self.radicale(scope, receive, _SaidInWords(send))
        finally:
            plugins.SNAPSHOT.reset(current)
            plugins.VERIFIED.reset(verified)
