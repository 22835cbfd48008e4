"""The forms' CSRF check, said once: a route asks for `who: CheckedForm` instead of `signed_in` plus
a `csrf` field and its own check. A POST whose token is missing or stale raises `ExpiredForm`, which
the app answers 400 "Biểu mẫu đã hết hạn" (`templating.expired_form`): nothing was changed.

The check runs after the dependencies named before it in the route's signature, so a portal route
names its administrator first (`admin.access.AdminForm`) and a stranger is still refused with 403
before the form is looked at.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.security import csrf_ok, sign_in_csrf_ok


class ExpiredForm(Exception):
    """A POSTed form whose CSRF token is not this browser's: answered with `templating.expired_form`,
    naming the signed-in person in the page's header when there is one."""

    def __init__(self, who: SignedIn | None = None) -> None:
        super().__init__("expired form")
        self.who = who


async def checked_form(
    request: Request, who: Annotated[SignedIn, Depends(signed_in)], csrf: Annotated[str, Form()] = ""
) -> SignedIn:
    """The signed-in person whose form this is (their session's CSRF token came with it)."""
    if not csrf_ok(request, csrf):
        raise ExpiredForm(who)
    return who


CheckedForm = Annotated[SignedIn, Depends(checked_form)]


async def checked_token(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """The session's CSRF token, for a form of a page that names no one (signing out)."""
    if not csrf_ok(request, csrf):
        raise ExpiredForm()


async def checked_sign_in(request: Request, csrf: Annotated[str, Form()] = "") -> None:
    """The sign-in form's token: the double-submit form cookie's (`security.sign_in_csrf_ok`)."""
    if not sign_in_csrf_ok(request, csrf):
        raise ExpiredForm()
