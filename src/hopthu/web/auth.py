"""Who is looking at this page: the `signed_in` dependency of every page behind the sign-in.

No session (or an ended one) sends the browser to the sign-in page, coming back afterwards; a
session that must change its password first (R5.2) reaches nothing but the password page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request

from hopthu.directory.accounts import Account
from hopthu.directory.websessions import WebSession
from hopthu.errors import NotFound
from hopthu.web.deps import services_of
from hopthu.web.security import csrf_for_session, session_token

SIGN_IN = "/dang-nhap"
CHANGE_PASSWORD = "/doi-mat-khau"


class Redirect(Exception):
    """Answered by the app with a 303 to `location` (see `create_app`)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: WebSession
    account: Account
    csrf: str
    administers: bool = False
    """Holds a portal role: the page header links to the portal."""


def back_here(request: Request) -> str:
    """This page's path and query, quoted for a `next=` parameter: where to come back after a detour."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return quote(target, safe="/")


async def signed_in(request: Request) -> SignedIn:
    """The signed-in person, or a Redirect to where they must go first."""
    services = services_of(request)
    token = session_token(request)
    session = await services.web_sessions.find(token) if token else None
    if session is None:
        raise Redirect(f"{SIGN_IN}?next={back_here(request)}")
    try:
        account = await services.directory.accounts.get_by_id(session.account_id)
    except NotFound:
        await services.web_sessions.end(session.id)
        raise Redirect(SIGN_IN) from None
    if not account.can_sign_in:
        await services.web_sessions.end_all(account.id)
        raise Redirect(SIGN_IN)
    if session.must_change_password and request.url.path != CHANGE_PASSWORD:
        raise Redirect(CHANGE_PASSWORD)
    administers = await services.directory.roles.holds_any(account.id)
    return SignedIn(session, account, csrf_for_session(token or ""), administers)


async def signed_in_or_nobody(request: Request) -> SignedIn | None:
    """Who is looking at an error page: the person, so the page keeps their name and the sign-out,
    or None (no session, or one that cannot be read now; an error page never fails itself)."""
    try:
        return await signed_in(request)
    except Redirect:
        return None
    except Exception:  # the page being answered is already an error
        return None
