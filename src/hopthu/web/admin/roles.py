"""The operator's roles page (R9, R10.4, R13.4): who administers what, a role given to a mailbox (an
agency's mailbox-list manager tied to that agency), a role withdrawn. Each act is the directory's
(`directory.roles`: audited, the last operator kept) and follows Post/Redirect/Get.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.directory.roles import ROLES
from hopthu.errors import HopThuError
from hopthu.web.admin.access import PORTAL, Admin, OperatorForm, admin_page, operating
from hopthu.web.admin.auditnames import ROLE_NAMES
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import WebServices, services_of

router = APIRouter()
ROLES_PAGE = f"{PORTAL}/vai-tro"


@router.get(ROLES_PAGE, response_class=HTMLResponse)
async def roles_page(request: Request, admin: Annotated[Admin, Depends(operating)]) -> HTMLResponse:
    return await _page(request, admin)


async def _page(
    request: Request,
    admin: Admin,
    *,
    error: HopThuError | None = None,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    directory = services_of(request).directory
    return admin_page(
        request,
        admin,
        "admin/roles.html",
        status_code=400 if error else 200,
        section=ROLES_PAGE,
        grants=await directory.roles.grants(),
        agencies=[a for a in await directory.agencies.list() if a.status == "active"],
        roles=[(role, ROLE_NAMES[role]) for role in ROLES],
        role_names=ROLE_NAMES,
        domain=services_of(request).settings.server.domain,
        typed=typed or {},
        error=error,
    )


@router.post(ROLES_PAGE, response_class=HTMLResponse)
async def grant(
    request: Request,
    services: WebServices,
    admin: OperatorForm,
    address: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    agency: Annotated[str, Form()] = "",
) -> Response:
    tied = agency[:64] if role == "agency_manager" else None  # the select is there for every role
    try:
        made = await services.directory.roles.grant(address[:320], role, agency_code=tied, actor=admin.actor)
    except HopThuError as error:
        typed = {"address": address[:320], "role": role, "agency": agency[:64]}
        return await _page(request, admin, error=error, typed=typed)
    vi, en = ROLE_NAMES[made.role]
    where = f" ({made.agency_code})" if made.agency_code else ""
    done = (f"Đã giao vai trò {vi}{where} cho {made.local}.", f"{made.local} is now {en}{where}.")
    return redirect_after(request, admin.who, ROLES_PAGE, done)


@router.post(ROLES_PAGE + "/bo", response_class=HTMLResponse)
async def withdraw(
    request: Request,
    services: WebServices,
    admin: OperatorForm,
    address: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    agency: Annotated[str, Form()] = "",
) -> Response:
    roles = services.directory.roles
    try:
        await roles.revoke(address[:320], role, agency_code=agency[:64] or None, actor=admin.actor)
    except HopThuError as error:
        return await _page(request, admin, error=error)
    vi, en = ROLE_NAMES[role]
    done = (f"Đã bỏ vai trò {vi} của {address}.", f"{address} is no longer {en}.")
    still = await roles.powers(admin.who.account.id)  # their own role may be the one withdrawn
    back = ROLES_PAGE if still.operator else PORTAL if still.administers else "/thu"
    return redirect_after(request, admin.who, back, done)
