"""Personal data in the portal (R13.6), the operator's alone: one person's data as one archive, its
erasure on a lawful request (a page that names the address and asks for the legal basis and the
address typed again, then the act), and personal data breaches with their 72-hour deadline, which
the portal's home page shows while it runs (`open_breaches`).

Every act is audited by the directory (`personal_data.exported`, `personal_data.erased`,
`breach.*`); the rules are `policy.erasure` and `policy.breach`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hopthu.directory.accounts import Account
from hopthu.errors import HopThuError, NotFound
from hopthu.policy.dates import VIETNAM
from hopthu.privacy import archive
from hopthu.web.admin.access import PORTAL, Admin, OperatorForm, admin_page, operating
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import WebServices, services_of

router = APIRouter()
PERSONAL = f"{PORTAL}/du-lieu-ca-nhan"
BREACHES = f"{PORTAL}/su-co-du-lieu"
ACCOUNTS = f"{PORTAL}/hop-thu"


async def _account(request: Request, local: str) -> Account:
    try:
        return await services_of(request).directory.accounts.get(local)
    except (NotFound, HopThuError):
        raise HTTPException(404) from None


@router.post(PERSONAL + "/{local}/xuat.zip")
async def export(request: Request, services: WebServices, local: str, admin: OperatorForm) -> Response:
    """Everything held about the person as one zip (`privacy.archive`), recorded before it is sent.
    A POST with the CSRF token, as every act that reads a mailbox."""
    found = await _account(request, local)
    directory = services.directory
    await directory.personal_data.exported(found, actor=admin.actor, channel="portal")
    source = archive.Source(found, services.store, directory, directory.ctx.now())
    return StreamingResponse(
        archive.stream(source),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="du-lieu-ca-nhan-{found.local}.zip"',
            "Cache-Control": "no-store",
        },
    )


async def _erase_page(
    request: Request, admin: Admin, found: Account, *, error: HopThuError | None = None, basis: str = ""
) -> HTMLResponse:
    directory = services_of(request).directory
    return admin_page(
        request,
        admin,
        "admin/erase.html",
        status_code=400 if error else 200,
        section=ACCOUNTS,
        account=found,
        roles=sorted(await directory.roles.roles_of(found.id)),
        basis=basis,
        error=error,
    )


@router.get(PERSONAL + "/{local}/xoa", response_class=HTMLResponse)
async def erase_page(
    request: Request, local: str, admin: Annotated[Admin, Depends(operating)]
) -> HTMLResponse:
    """The first step: what erasure removes and keeps, the address named, the basis asked for."""
    return await _erase_page(request, admin, await _account(request, local))


@router.post(PERSONAL + "/{local}/xoa", response_class=HTMLResponse)
async def erase(
    request: Request,
    services: WebServices,
    local: str,
    admin: OperatorForm,
    basis: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """The second step: the address typed again must be this account's, then the erasure."""
    found = await _account(request, local)
    domain = services.settings.server.domain
    typed = confirm.strip().lower()
    if typed not in (found.local, found.address(domain)):
        error = HopThuError(
            f"Hãy gõ lại đúng địa chỉ {found.address(domain)} để xác nhận.",
            f"Type the address {found.address(domain)} again to confirm.",
            code="confirm",
        )
        return await _erase_page(request, admin, found, error=error, basis=basis)
    try:
        erased = await services.directory.personal_data.erase(found.local, basis=basis, actor=admin.actor)
    except HopThuError as error:
        return await _erase_page(request, admin, found, error=error, basis=basis)
    await services.web_sessions.end_all(found.id)
    done = (
        f"Đã xóa dữ liệu cá nhân của {found.address(domain)} ({erased.messages} thư).",
        f"The personal data of {found.address(domain)} was erased ({erased.messages} messages).",
    )
    return redirect_after(request, admin.who, f"{ACCOUNTS}/{found.local}", done)


# --- breaches ------------------------------------------------------------------------------------


async def open_breaches(request: Request) -> list[dict[str, Any]]:
    """The breaches still counting down, each with its deadline and the time left (the home page)."""
    directory = services_of(request).directory
    now = directory.ctx.now()
    return [{"breach": b, "standing": b.standing(now)} for b in await directory.breaches.counting_down()]


@router.get(BREACHES, response_class=HTMLResponse)
async def breaches(
    request: Request,
    services: WebServices,
    admin: Annotated[Admin, Depends(operating)],
) -> HTMLResponse:
    return await _breaches_page(request, admin)


async def _breaches_page(
    request: Request, admin: Admin, *, error: HopThuError | None = None, form: dict[str, str] | None = None
) -> HTMLResponse:
    directory = services_of(request).directory
    now = directory.ctx.now()
    return admin_page(
        request,
        admin,
        "admin/breaches.html",
        status_code=400 if error else 200,
        section=BREACHES,
        breaches=[{"breach": b, "standing": b.standing(now)} for b in await directory.breaches.listing()],
        now_local=now.astimezone(VIETNAM).strftime("%Y-%m-%dT%H:%M"),
        form=form or {},
        error=error,
    )


def _moment(text: str) -> dt.datetime:
    """A `datetime-local` field's value, in Vietnam's time."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise HopThuError(
            "Thời điểm phát hiện không hợp lệ.", "The moment of discovery is not valid.", code="moment"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


@router.post(BREACHES, response_class=HTMLResponse)
async def record(
    request: Request,
    services: WebServices,
    admin: OperatorForm,
    discovered_at: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    affected: Annotated[str, Form()] = "",
    affected_count: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "discovered_at": discovered_at,
        "description": description,
        "affected": affected,
        "affected_count": affected_count,
    }
    try:
        count = int(affected_count) if affected_count.strip() else None
    except ValueError:
        count = -1
    try:
        if count is not None and count < 0:
            raise HopThuError("Số người bị ảnh hưởng không hợp lệ.", "The number affected is not valid.")
        found = await services.directory.breaches.record(
            discovered_at=_moment(discovered_at),
            description=description,
            affected=affected.replace(",", "\n").splitlines(),
            affected_count=count,
            actor=admin.actor,
        )
    except HopThuError as error:
        return await _breaches_page(request, admin, error=error, form=form)
    done = (f"Đã ghi nhận sự cố số {found.id}.", f"Breach number {found.id} recorded.")
    return redirect_after(request, admin.who, BREACHES, done)


@router.post(BREACHES + "/{breach_id}/{act}", response_class=HTMLResponse)
async def mark(
    request: Request, services: WebServices, breach_id: int, act: str, admin: OperatorForm
) -> Response:
    """`bao-cao`: the authority was notified now; `dong`: the breach is closed."""
    breaches = services.directory.breaches
    try:
        if act == "bao-cao":
            await breaches.reported(breach_id, actor=admin.actor)
            done = (f"Đã ghi báo cáo sự cố số {breach_id}.", f"Breach number {breach_id} marked reported.")
        elif act == "dong":
            await breaches.close(breach_id, actor=admin.actor)
            done = (f"Đã đóng sự cố số {breach_id}.", f"Breach number {breach_id} closed.")
        else:
            raise HTTPException(404)
    except NotFound:
        raise HTTPException(404) from None
    except HopThuError as error:
        return await _breaches_page(request, admin, error=error)
    return redirect_after(request, admin.who, BREACHES, done)
