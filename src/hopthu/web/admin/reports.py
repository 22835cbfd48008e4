"""Periodic reports in the portal (R9.3, R9.7): a month, quarter or year, for the city or one agency
(an agency manager's own only), shown as a table and downloaded as .xlsx or PDF, the same report
`hopthu report` writes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.directory.filing import OutsideScope
from hopthu.errors import HopThuError
from hopthu.reports import render
from hopthu.reports.gather import COLUMNS, Report, gather
from hopthu.reports.period import VIETNAM, parse_period
from hopthu.web.admin.access import PORTAL, Admin, admin_page, administering, check_covers
from hopthu.web.deps import WebServices, services_of

router = APIRouter()
REPORTS = f"{PORTAL}/bao-cao"
TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


async def _report(request: Request, admin: Admin, ky: str, co_quan: str) -> Report:
    directory = services_of(request).directory
    period = parse_period(ky)
    within = None if admin.powers.sees_everything else admin.powers.agencies
    if co_quan:
        found = await directory.agencies.get(co_quan)
        check_covers(admin, found.id)
        within = await directory.agencies.subtree(found.id)
    return await gather(services_of(request).store.db, period, now=directory.ctx.now(), within=within)


def _last_month() -> str:
    today = dt.datetime.now(VIETNAM).date().replace(day=1) - dt.timedelta(days=1)
    return f"{today.year}-{today.month:02d}"


@router.get(REPORTS, response_class=HTMLResponse)
async def reports(
    request: Request,
    services: WebServices,
    admin: Annotated[Admin, Depends(administering)],
    ky: str = "",
    co_quan: str = "",
) -> HTMLResponse:
    directory = services.directory
    agencies = [a for a in await directory.agencies.list() if admin.powers.covers(a.id)]
    ky = ky.strip() or _last_month()
    made, error = None, None
    try:
        made = await _report(request, admin, ky, co_quan)
    except OutsideScope:
        raise  # the app's refusal page, as for anything outside the administrator's agencies
    except HopThuError as refused:
        error = refused
    return admin_page(
        request,
        admin,
        "admin/reports.html",
        status_code=400 if error else 200,
        section=REPORTS,
        report=made,
        columns=list(zip(COLUMNS, render.headings(), strict=True)),
        agencies=agencies,
        chosen={"ky": ky, "co_quan": co_quan},
        error=error,
    )


@router.get(REPORTS + "/tai-ve")
async def download(
    request: Request,
    admin: Annotated[Admin, Depends(administering)],
    ky: str,
    co_quan: str = "",
    dinh_dang: str = "xlsx",
) -> Response:
    if dinh_dang not in TYPES:
        raise HTTPException(404)
    try:
        made = await _report(request, admin, ky, co_quan)
    except OutsideScope:
        raise
    except HopThuError:
        raise HTTPException(422) from None
    data = render.xlsx(made) if dinh_dang == "xlsx" else render.pdf(made)
    name = f"bao-cao-{made.period.label}{'-' + co_quan if co_quan else ''}.{dinh_dang}"
    return Response(
        data, media_type=TYPES[dinh_dang], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
