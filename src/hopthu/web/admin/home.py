"""The portal's first page: the figures of the city (or of the manager's agencies) at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hopthu.directory.statistics import overview
from hopthu.policy.lifecycle import Status
from hopthu.store.traffic import VIETNAM, per_day
from hopthu.web.admin.access import PORTAL, Admin, admin_page, administering

router = APIRouter()
AGENCY_BARS = 15
DAYS = 30


@router.get(PORTAL, response_class=HTMLResponse)
async def home(request: Request, admin: Annotated[Admin, Depends(administering)]) -> HTMLResponse:
    services = request.app.state.services
    within = None if admin.powers.sees_everything else admin.powers.agencies
    figures = await overview(
        services.store.db,
        within,
        now=services.directory.ctx.now(),
        password_months=services.settings.policy.password_max_age_months,
    )
    largest = max(figures.by_status.values(), default=0) or 1
    bars = [
        (status, figures.by_status.get(status.value, 0), figures.by_status.get(status.value, 0) / largest)
        for status in Status
    ]
    names = {a.id: a.name for a in await services.directory.agencies.list() if admin.powers.covers(a.id)}
    counts = await services.directory.agencies.active_mailboxes()
    busiest = sorted(((counts.get(i, 0), name) for i, name in names.items()), reverse=True)[:AGENCY_BARS]
    most = max((count for count, _ in busiest), default=0) or 1
    today = services.directory.ctx.now().astimezone(VIETNAM).date()
    days = await per_day(services.store.db, today - dt.timedelta(days=DAYS - 1), today, within)
    busiest_day = max((max(c["received"], c["sent"]) for c in days.values()), default=0) or 1
    return admin_page(
        request,
        admin,
        "admin/home.html",
        section=PORTAL,
        figures=figures,
        bars=bars,
        agency_bars=[(name, count, count / most) for count, name in busiest],
        days=[
            (day, counts, counts["received"] / busiest_day, counts["sent"] / busiest_day)
            for day, counts in days.items()
        ],
        blocked=sum(c["blocked"] for c in days.values()),
        engines=services.engines.report() if getattr(services, "engines", None) is not None else None,
    )
