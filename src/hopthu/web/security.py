"""Cookies and CSRF for the web pages.

A signed-in page's forms carry a CSRF token derived from the session cookie (HMAC keyed by the
cookie's token), so only a page that could read the cookie can make one: no server-side state, and
the same on every node. Before sign-in the form and a cookie carry the same random value
(double submit). Cookies are HttpOnly, SameSite=Lax, and Secure whenever the site is served over
HTTPS.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "hopthu_session"
FORM_COOKIE = "hopthu_form"
PRIVATE_COOKIE_DAYS = 14


def csrf_for_session(token: str) -> str:
    return hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()


def form_token(request: Request) -> str:
    """The double-submit value for forms shown before sign-in (a new one if the browser has none)."""
    return request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(24)


def csrf_ok(request: Request, submitted: str | None) -> bool:
    """Whether a POSTed form's token belongs to this browser."""
    if not submitted:
        return False
    session = request.cookies.get(SESSION_COOKIE)
    if session and hmac.compare_digest(submitted, csrf_for_session(session)):
        return True
    form = request.cookies.get(FORM_COOKIE)
    return bool(form) and hmac.compare_digest(submitted, form)


def set_cookie(request: Request, response: Response, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
