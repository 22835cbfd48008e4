"""Signing in and out, the forced password change, and the account page (R5.2, R5.3, R11.4).

Sign-in uses the one `Authenticator` of every protocol, so throttling (R13.3) and the account's
state (R6) are decided once. A correct password that must be changed (new, reset or older than
three months, R5.2) opens a session that reaches only the password page. Changing the password ends
the person's other sessions. The account page shows the storage used against the quota (R5.1,
R11.3) and the open sessions, each of which can be ended, or all at once (R11.4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hopthu.directory.auth import Refusal, SignInRefused
from hopthu.directory.preferences import MAX_SIGNATURE_HTML, Preferences
from hopthu.errors import HopThuError
from hopthu.mail.richtext import has_formatting, text_to_html
from hopthu.policy import passwords
from hopthu.policy.dates import VIETNAM
from hopthu.policy.quota import reached_thresholds
from hopthu.web.accessnames import PROTOCOL_NAMES, RESULT_NAMES
from hopthu.web.auth import CHANGE_PASSWORD, SIGN_IN, Redirect, SignedIn, signed_in
from hopthu.web.client import client_address
from hopthu.web.deps import WebServices, services_of
from hopthu.web.forms import CheckedForm, checked_sign_in, checked_token
from hopthu.web.htmlmail import written_html
from hopthu.web.security import (
    FORM_COOKIE,
    PRIVATE_COOKIE_DAYS,
    SESSION_COOKIE,
    delete_cookie,
    session_token,
    set_cookie,
)
from hopthu.web.templating import page

router = APIRouter()
ACCOUNT_PAGE = "/cai-dat"
_STATUS = {
    Refusal.BAD_CREDENTIALS: 401,
    Refusal.THROTTLED: 429,
    Refusal.LOCKED: 403,
    Refusal.REVOKED: 403,
    Refusal.DELETED: 403,
    Refusal.APP_PASSWORD_ON_WEB: 403,
}


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _client(request: Request) -> tuple[str, str]:
    """The real client's address (behind trusted proxies only, `web.client`) and its browser."""
    return client_address(request), request.headers.get("user-agent", "")


@router.get("/", include_in_schema=False)
async def home(who: Annotated[SignedIn, Depends(signed_in)]) -> RedirectResponse:
    return RedirectResponse("/thu", status_code=303)


@router.get(SIGN_IN, response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str | None = None) -> HTMLResponse:
    return page(
        request,
        "signin.html",
        next=local_path(next),
        login="",
        public=False,
        error=None,
        public_idle=_public_idle(request),
    )


def _public_idle(request: Request) -> int:
    """The minutes a "public computer" session lasts unused, as the form promises them (R13.3)."""
    return round(services_of(request).settings.policy.session_public_idle_minutes)


@router.post(SIGN_IN, response_class=HTMLResponse)
async def sign_in(
    request: Request,
    services: WebServices,
    _form: Annotated[None, Depends(checked_sign_in)],
    login: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    public: Annotated[str | None, Form()] = None,
    next: Annotated[str, Form()] = "/",
) -> Response:
    address, agent = _client(request)
    on_public = public is not None
    must_change = False
    try:
        identity = await services.authenticator.sign_in(
            login, password, source=address, protocol="web", client=agent
        )
        account_id = identity.account_id
    except SignInRefused as refusal:
        if refusal.refusal != Refusal.MUST_CHANGE_PASSWORD:  # the password was right in that one case only
            return page(
                request,
                "signin.html",
                status_code=_STATUS[refusal.refusal],
                next=local_path(next),
                login=login,
                public=on_public,
                error=refusal,
                public_idle=_public_idle(request),
            )
        account_id = refusal.account_id or (await services.directory.accounts.get(login)).id
        must_change = True
    token = await services.web_sessions.create(
        account_id, public=on_public, must_change_password=must_change, user_agent=agent, address=address
    )
    target = CHANGE_PASSWORD if must_change else local_path(next)
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        request, response, SESSION_COOKIE, token, max_age=None if on_public else PRIVATE_COOKIE_DAYS * 86400
    )
    delete_cookie(request, response, FORM_COOKIE)
    return response


@router.post("/dang-xuat")
async def sign_out(
    request: Request, services: WebServices, _form: Annotated[None, Depends(checked_token)]
) -> Response:
    token = session_token(request)
    if token:
        found = await services.web_sessions.find(token)
        if found is not None:
            await services.web_sessions.end(found.id)
    response = RedirectResponse(SIGN_IN, status_code=303)
    delete_cookie(request, response, SESSION_COOKIE)
    return response


@router.get(CHANGE_PASSWORD, response_class=HTMLResponse)
async def change_password_page(
    request: Request, who: Annotated[SignedIn, Depends(signed_in)]
) -> HTMLResponse:
    return _password_page(request, who, None)


@router.post(CHANGE_PASSWORD, response_class=HTMLResponse)
async def change_password(
    request: Request,
    services: WebServices,
    who: CheckedForm,
    current: Annotated[str, Form()] = "",
    new: Annotated[str, Form()] = "",
    again: Annotated[str, Form()] = "",
) -> Response:
    try:
        if new != again:
            raise HopThuError("Hai lần nhập mật khẩu mới không khớp", "The two new passwords differ")
        await services.directory.accounts.change_password(who.account.local, current, new)
    except HopThuError as error:
        return _password_page(request, who, error)
    await services.web_sessions.password_changed(who.session.id)
    await services.web_sessions.end_all(who.account.id, keep=who.session.id)
    # A change the person was made to do stood between them and their mail: they go on to it, and
    # on their very first visit the inbox shows them around. A change they chose from the settings
    # page returns there.
    done = f"{ACCOUNT_PAGE}?doi-mat-khau=1"
    if who.session.must_change_password:
        done = "/thu?doi-mat-khau=1" + ("&chao=1" if who.account.on_first_password else "")
    return RedirectResponse(done, status_code=303)


def _password_page(request: Request, who: SignedIn, error: HopThuError | None) -> HTMLResponse:
    """The change form, with the words of the person's name its checklist refuses as they type."""
    personal = passwords.personal_words(who.account.local, who.account.display_name)
    return page(
        request,
        "password.html",
        who=who,
        error=error,
        rules=_rules(),
        personal=" ".join(personal),
        status_code=400 if error else 200,
    )


def _rules() -> list[tuple[str, str, str]]:
    """R5.3 as the page lists it: (code the page's script checks, Vietnamese, English)."""
    return [
        ("length", f"Ít nhất {passwords.MIN_LENGTH} ký tự", f"At least {passwords.MIN_LENGTH} characters"),
        ("upper", "Có chữ in hoa", "An uppercase letter"),
        ("lower", "Có chữ in thường", "A lowercase letter"),
        ("digit", "Có chữ số", "A digit"),
        ("special", "Có ký tự đặc biệt (ví dụ ! @ # $ %)", "A special character (e.g. ! @ # $ %)"),
        ("personal", "Không chứa tên đăng nhập hay tên của bạn", "Not your sign-in name or your name"),
    ]


RECENT_ACTIVITY = 20  # the person's latest accesses on the settings page (R13.4)


@router.get(ACCOUNT_PAGE, response_class=HTMLResponse)
async def account_page(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> HTMLResponse:
    return await account_view(request, who)


async def account_view(
    request: Request,
    who: SignedIn,
    *,
    error: HopThuError | None = None,
    preferences: Preferences | None = None,
    rules_error: HopThuError | None = None,
    typed: str = "",
    app_error: HopThuError | None = None,
    app_typed: str = "",
    made: tuple[str, str] | None = None,
) -> HTMLResponse:
    """The settings page (also shown again with an error by `web.senderlists` and `web.apppasswords`,
    and with a new app password's letters, `made` as (name, letters), by the latter)."""
    services = services_of(request)
    sessions = await services.web_sessions.listing(who.account.id)
    settings = services.settings
    expires = passwords.password_expires_at(
        who.account.password_changed_at, settings.policy.password_max_age_months
    )
    chosen = preferences or await services.directory.preferences.get(who.account.id)
    used = who.account.usage_bytes
    percent = min(100, round(100 * used / who.account.quota_bytes)) if who.account.quota_bytes else 0
    return page(
        request,
        "account.html",
        who=who,
        status_code=400 if error or rules_error or app_error else 200,
        sessions=sessions,
        activity=await services.directory.ctx.access_log.recent(who.account.id, limit=RECENT_ACTIVITY),
        protocols=PROTOCOL_NAMES,
        results=RESULT_NAMES,
        current=who.session.id,
        expires=expires.astimezone(VIETNAM),
        used=used,
        percent=percent,
        warn=bool(reached_thresholds(used, who.account.quota_bytes, services.directory.ctx.quota_rules)),
        changed="doi-mat-khau" in request.query_params,
        saved="da-luu" in request.query_params,
        preferences=chosen,
        signature_start=chosen.signature_html or text_to_html(chosen.signature),
        error=error,
        sender_rules=await services.directory.sender_rules.listing(who.account.id),
        rules_saved="da-luu-danh-sach" in request.query_params,
        rules_error=rules_error,
        typed=typed,
        app_passwords=await services.directory.app_passwords.listing(who.account.id),
        app_password_limit=services.directory.app_passwords.limit,
        app_error=app_error,
        app_typed=app_typed,
        made=made,
        app_revoked="da-thu-hoi" in request.query_params,
    )


@router.post("/phien/{session_id}/ket-thuc")
async def end_session(
    services: WebServices,
    session_id: str,
    who: CheckedForm,
) -> Response:
    await services.web_sessions.end(session_id, account_id=who.account.id)
    if session_id == who.session.id:
        raise Redirect(SIGN_IN)
    return RedirectResponse(ACCOUNT_PAGE, status_code=303)


@router.post("/phien/ket-thuc-tat-ca")
async def end_all_sessions(request: Request, services: WebServices, who: CheckedForm) -> Response:
    """Sign out everywhere (R11.4), this browser included."""
    await services.web_sessions.end_all(who.account.id)
    response = RedirectResponse(SIGN_IN, status_code=303)
    delete_cookie(request, response, SESSION_COOKIE)
    return response


@router.post(f"{ACCOUNT_PAGE}/ca-nhan")
async def save_preferences(
    request: Request,
    services: WebServices,
    who: CheckedForm,
    signature: Annotated[str, Form()] = "",
    signature_html: Annotated[str, Form()] = "",
    vacation_on: Annotated[str | None, Form()] = None,
    vacation_subject: Annotated[str, Form()] = "",
    vacation_text: Annotated[str, Form()] = "",
    vacation_until: Annotated[str, Form()] = "",
) -> Response:
    """The signature and the out-of-office reply (answered once per sender a week, RFC 3834)."""
    try:
        until = dt.date.fromisoformat(vacation_until) if vacation_until.strip() else None
    except ValueError:
        until = None
    # Written in the editor: its HTML cleaned as a letter's is, its text taken from what was kept. A
    # signature without formatting (or from the page without its script) is kept as text alone.
    # Past its bound it is not cleaned (or cut) at all: `preferences.save` refuses it by its length.
    if len(signature_html) > MAX_SIGNATURE_HTML:
        rich, words = signature_html, signature
    else:
        rich, words = written_html(signature_html)
        if not has_formatting(rich):
            rich, words = "", signature
    chosen = Preferences(
        words.replace("\r\n", "\n").strip("\n"),
        vacation_on is not None,
        vacation_subject.strip(),
        vacation_text.replace("\r\n", "\n").strip(),
        until,
        rich,
    )
    try:
        await services.directory.preferences.save(who.account.id, chosen)
    except HopThuError as error:  # shown again as typed, but never an uncleaned signature
        return await account_view(request, who, error=error, preferences=replace(chosen, signature_html=""))
    return RedirectResponse(f"{ACCOUNT_PAGE}?da-luu=1", status_code=303)
