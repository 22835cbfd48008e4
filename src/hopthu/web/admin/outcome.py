"""Post/Redirect/Get for the portal's forms: an act answers 303 to the page it changed, so the address
bar never holds a POST and a reload shows the page again instead of doing the act twice.

What the act did ("Đã duyệt yêu cầu số 12.", and a temporary password shown once) travels to that
page in a short-lived cookie sealed with the data folder's key (`security.secretbox`) and bound to
the session's CSRF token: never in the address (history, logs, Referer), readable by no one else,
shown once and then expired by the page that shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from fastapi.responses import RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from hopthu.errors import HopThuError
from hopthu.web.auth import SignedIn
from hopthu.web.deps import services_of
from hopthu.web.security import delete_cookie, read_cookie, set_cookie

COOKIE = "hopthu_outcome"
LIFETIME = 300  # seconds: the redirect is followed at once; an old outcome must not greet a later visit
TEXT_LIMIT = 1500  # characters a language: a cookie holds 4 KB

Text = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Outcome:
    done: Text
    password: str | None = None


def redirect_after(
    request: Request, who: SignedIn, location: str, done: Text, *, password: str | None = None
) -> RedirectResponse:
    """303 to `location` (a path of this site), carrying what was done for that page to say."""
    sealed = json.dumps(
        {"s": who.csrf, "vi": done[0][:TEXT_LIMIT], "en": done[1][:TEXT_LIMIT], "p": password},
        ensure_ascii=False,
    )
    response = RedirectResponse(location, status_code=303)
    box = services_of(request).directory.factors.box
    set_cookie(request, response, COOKIE, box.seal(sealed), max_age=LIFETIME)
    return response


def taken(request: Request, who: SignedIn) -> Outcome | None:
    """The outcome waiting for this session's page, if a fresh one does; anything else is ignored."""
    sealed = read_cookie(request, COOKIE)
    if not sealed:
        return None
    try:
        found = json.loads(services_of(request).directory.factors.box.open(sealed, ttl=LIFETIME))
    except (HopThuError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("s") != who.csrf:
        return None
    password = found.get("p")
    return Outcome(
        (str(found.get("vi", "")), str(found.get("en", ""))), password if isinstance(password, str) else None
    )


def waiting(request: Request) -> bool:
    """Whether the browser brought an outcome cookie (to expire once the page is made)."""
    return bool(read_cookie(request, COOKIE))


def forget(request: Request, response: Response) -> None:
    """Expire the outcome cookie once its page has shown it."""
    delete_cookie(request, response, COOKIE)
