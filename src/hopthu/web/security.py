"""Cookies and CSRF for the web pages.

A signed-in page's forms carry a CSRF token derived from the session cookie (HMAC keyed by the
cookie's token), so only a page that could read the cookie can make one: no server-side state, and
the same on every node. Once signed in, that is the only token accepted. Before sign-in the sign-in
form and a cookie carry the same random value (double submit); that value opens the sign-in form and
nothing else, so a form cookie planted by another site under the same parent domain signs nobody
into anything.

When the public address (`server.web_url`) is https, every cookie is `Secure` and named with the
`__Host-` prefix (RFC 6265bis §4.1.3.2): the browser then takes it only from this exact host over
HTTPS, with `Path=/` and no `Domain`, so a sibling site (`*.cantho.gov.vn`) can neither set nor
overwrite it; and every answer carries `Strict-Transport-Security` (RFC 6797). A development
address over plain http keeps plain names, since browsers refuse those cookies there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

SESSION_COOKIE = "hopthu_session"
FORM_COOKIE = "hopthu_form"
PRIVATE_COOKIE_DAYS = 14
HOST_PREFIX = "__Host-"
HSTS = "max-age=31536000"  # a year (RFC 6797 §6.1.1); no includeSubDomains: the city's other sites are theirs


def secure_site(settings: Any) -> bool:
    """Whether the site's public address is https (then cookies are Secure and __Host- prefixed)."""
    return str(settings.server.web_url).strip().lower().startswith("https://")


def _secure(connection: HTTPConnection) -> bool:
    services = getattr(connection.app.state, "services", None)
    return services is not None and secure_site(services.settings)


def cookie_name(connection: HTTPConnection, name: str) -> str:
    """The name a cookie has on this site: `__Host-name` over https, `name` over plain http."""
    return HOST_PREFIX + name if _secure(connection) else name


def read_cookie(connection: HTTPConnection, name: str) -> str | None:
    return connection.cookies.get(cookie_name(connection, name))


def session_token(connection: HTTPConnection) -> str | None:
    """The session cookie's token, if the browser sent one."""
    return read_cookie(connection, SESSION_COOKIE)


def csrf_for_session(token: str) -> str:
    return hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()


def form_token(request: Request) -> str:
    """The double-submit value for the sign-in form (a new one if the browser has none)."""
    return read_cookie(request, FORM_COOKIE) or secrets.token_urlsafe(24)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether a POSTed form's token is the one of this browser's session. The pre-sign-in form
    token is not accepted here: see `sign_in_csrf_ok`."""
    session = session_token(request)
    if not submitted or not session:
        return False
    return hmac.compare_digest(submitted.encode(), csrf_for_session(session).encode())


def sign_in_csrf_ok(request: Request, submitted: str | None) -> bool:
    """The sign-in form's token: the double-submit form cookie (or, signed in already, the session's)."""
    if csrf_ok(request, submitted):
        return True
    form = read_cookie(request, FORM_COOKIE)
    return bool(submitted and form) and hmac.compare_digest(submitted.encode(), form.encode())


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )


def delete_cookie(request: Request, response: Response, name: str) -> None:
    """Expire a cookie, with the attributes it was set with (a __Host- one needs Secure to go)."""
    response.delete_cookie(
        cookie_name(request, name), path="/", secure=_secure(request), httponly=True, samesite="lax"
    )


class StrictTransport:
    """ASGI middleware: `Strict-Transport-Security` on every answer when the public address is
    https, so a browser that came once never again goes to the site over plain http (RFC 6797 §7.1)."""

    def __init__(self, app: Any, settings: Any) -> None:
        self.app = app
        self.on = secure_site(settings)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.on:
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"strict-transport-security", HSTS.encode())]
            await send(message)

        await self.app(scope, receive, sending)
