"""Server-rendered pages: Jinja2 templates with autoescaping, every page given the language chooser
`_`, the language, the CSRF token of its forms and who is signed in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from hopthu.policy import passwords
from hopthu.policy.dates import VIETNAM as VIETNAM  # the city's time, for the pages that import it here
from hopthu.policy.lifecycle import Status
from hopthu.policy.quota import format_size
from hopthu.store.flags import FLAGGED, SEEN
from hopthu.web import moments, people
from hopthu.web.auth import SignedIn
from hopthu.web.deps import services_of
from hopthu.web.devices import describe_device
from hopthu.web.filekinds import file_kind
from hopthu.web.i18n import COOKIE, chooser, language
from hopthu.web.security import FORM_COOKIE, form_token, read_cookie, set_cookie

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
PASSWORD_BANNER = dt.timedelta(days=14)


@pass_context
def when(context: Context, moment: dt.datetime | None) -> str:
    """A moment as lists show it, in the page's language (`moments.short`)."""
    return moments.short(moment, context.get("lang", "vi"))


@pass_context
def when_full(context: Context, moment: dt.datetime | None) -> str:
    """A moment in full, in the page's language (`moments.full`): a message's date, a tooltip."""
    return moments.full(moment, context.get("lang", "vi"))


@pass_context
def size(context: Context, octets: int) -> str:
    """A size for people, with the page language's decimal mark ("1,2 MB", "1.2 MB")."""
    return format_size(octets, decimal_mark="." if context.get("lang") == "en" else ",")


def sender_name(sender: str) -> str:
    """ "Nguyễn Văn Minh <nvminh@...>" as "Nguyễn Văn Minh"; a bare address stays as it is."""
    name, _, rest = sender.partition(" <")
    return name if rest else sender


TEMPLATES.env.filters["size"] = size
TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["author"] = people.author
TEMPLATES.env.filters["file_kind"] = lambda file: file_kind(file.content_type, file.filename)
TEMPLATES.env.filters["recipients"] = people.recipients
TEMPLATES.env.filters["when_full"] = when_full
TEMPLATES.env.filters["unread"] = lambda message: not message.flags & SEEN
TEMPLATES.env.filters["flagged"] = lambda message: bool(message.flags & FLAGGED)
TEMPLATES.env.filters["sender_name"] = sender_name
TEMPLATES.env.filters["device"] = describe_device
TEMPLATES.env.globals["status_names"] = {status.value: status.vi for status in Status}


def page(
    request: Request,
    template: str,
    *,
    who: SignedIn | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render `template`; pages without a session get (and keep) the double-submit form cookie."""
    lang = language(request)
    csrf = who.csrf if who is not None else form_token(request)
    settings = services_of(request).settings
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "_": chooser(lang),
            "lang": lang,
            "csrf": csrf,
            "who": who,
            "domain": settings.server.domain,
            "password_days_left": _password_days_left(request, who),
            **context,
        },
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    if who is None and read_cookie(request, FORM_COOKIE) != csrf:
        set_cookie(request, response, FORM_COOKIE, csrf, max_age=None)
    if request.query_params.get("lang") in ("vi", "en"):
        set_cookie(request, response, COOKIE, lang, max_age=365 * 86400)
    return response


def _password_days_left(request: Request, who: SignedIn | None) -> int | None:
    """Days until the person's password expires when that is under two weeks (R5.2's banner)."""
    if who is None or who.session.must_change_password:
        return None
    services = services_of(request)
    months = services.settings.policy.password_max_age_months
    expires = passwords.password_expires_at(who.account.password_changed_at, months)
    left = expires - services.directory.ctx.now()
    return left.days + 1 if dt.timedelta(0) < left <= PASSWORD_BANNER else None


def expired_form(request: Request, who: SignedIn | None = None) -> HTMLResponse:
    """The answer to a form whose CSRF token is missing or stale: nothing was changed."""
    return page(
        request,
        "message.html",
        who=who,
        status_code=400,
        title=("Biểu mẫu đã hết hạn", "The form has expired"),
        text=("Hãy tải lại trang và thử lại.", "Reload the page and try again."),
    )
