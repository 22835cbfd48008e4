"""The second factor of administrators (R9): enrolment on the first visit to the portal (a QR code
for an authenticator app, the key in text for typing), then a six-digit code once per session.
Wrong codes count like wrong passwords (R13.3): after five, the person waits before trying again.
Enrolment asks for the administrator's own password beside the first code (`directory.factors`).
"""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from hopthu.web.admin.access import ENROL, PORTAL, VERIFY, Admin, RoleForm, admin_page, with_role
from hopthu.web.client import client_address
from hopthu.web.deps import WebServices, services_of
from hopthu.web.signin import local_path

router = APIRouter()


@router.get(ENROL, response_class=HTMLResponse)
async def enrol_page(
    request: Request, admin: Annotated[Admin, Depends(with_role)], next: str = PORTAL
) -> Response:
    return await _enrolment(request, admin, next, error=False)


@router.get(VERIFY, response_class=HTMLResponse)
async def verify_page(
    request: Request, services: WebServices, admin: Annotated[Admin, Depends(with_role)], next: str = PORTAL
) -> Response:
    factors = services.directory.factors
    if not await factors.confirmed(admin.who.account.id):
        return RedirectResponse(ENROL, status_code=303)
    return admin_page(request, admin, "admin/factor.html", next=local_path(next), enrol=None, error=False)


@router.post(VERIFY, response_class=HTMLResponse)
async def verify(
    request: Request,
    services: WebServices,
    admin: RoleForm,
    code: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = PORTAL,
) -> Response:
    """Check a code, from the enrolment page (the first one confirms the device, with the password)
    or the code page."""
    throttle = services.authenticator.throttle
    key, source = f"totp:{admin.actor}", client_address(request)
    account_id = admin.who.account.id
    enrolled = await services.directory.factors.confirmed(account_id)
    if throttle.paused(key, source) == 0 and await services.directory.factors.verify(
        account_id, code, actor=admin.actor, password=None if enrolled else password
    ):
        throttle.succeeded(key, source)
        await services.web_sessions.second_factor_proved(admin.who.session.id)
        return RedirectResponse(local_path(next), status_code=303)
    throttle.failed(key, source)
    if not enrolled:
        return await _enrolment(request, admin, next, error=True)
    return admin_page(
        request,
        admin,
        "admin/factor.html",
        status_code=401,
        next=local_path(next),
        enrol=None,
        error=True,
    )


async def _enrolment(request: Request, admin: Admin, next: str, *, error: bool) -> Response:
    factors = services_of(request).directory.factors
    if await factors.confirmed(admin.who.account.id):
        return RedirectResponse(VERIFY, status_code=303)
    secret, uri = await factors.enrolment(admin.who.account.id)
    # A viewBox and no fixed size: the page scales the code as a whole. With a width and height
    # instead, CSS that shrinks the element crops the drawing and the code no longer scans.
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=5, title="QR", svgclass="qr", omitsize=True))
    return admin_page(
        request,
        admin,
        "admin/factor.html",
        status_code=401 if error else 200,
        next=local_path(next),
        enrol={"secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)), "qr": qr},
        error=error,
    )
