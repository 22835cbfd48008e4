"""The scheduled jobs in the portal (the operator's): what each does, its last runs with their
counts or errors, and running one now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.jobs.scheduler import Scheduler
from hopthu.services import Services
from hopthu.web.admin.access import PORTAL, Admin, OperatorForm, admin_page, operating
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import WebServices, services_of

router = APIRouter()
JOBS_PAGE = f"{PORTAL}/tac-vu"


@router.get(JOBS_PAGE, response_class=HTMLResponse)
async def jobs(request: Request, admin: Annotated[Admin, Depends(operating)]) -> HTMLResponse:
    return await _page(request, admin)


async def _page(request: Request, admin: Admin) -> HTMLResponse:
    scheduler = _scheduler(services_of(request))
    return admin_page(
        request,
        admin,
        "admin/jobs.html",
        section=JOBS_PAGE,
        jobs=list(scheduler.jobs.values()),
        runs=await scheduler.last_runs(),
    )


@router.post(JOBS_PAGE + "/{name}", response_class=HTMLResponse)
async def run_now(
    request: Request,
    services: WebServices,
    name: str,
    admin: OperatorForm,
) -> Response:
    scheduler = _scheduler(services)
    if name not in scheduler.jobs:
        raise HTTPException(404)
    done = await scheduler.run(name)
    told = f"{done.summary}" if done.status == "ok" else done.error or ""
    said = f"{name}: {done.status} {told}"
    return redirect_after(request, admin.who, JOBS_PAGE, (said, said))


def _scheduler(services: Services) -> Scheduler:
    """The jobs' clock; a process built without one (a tool, a test) has no such page."""
    if services.scheduler is None:
        raise HTTPException(404)
    return services.scheduler
