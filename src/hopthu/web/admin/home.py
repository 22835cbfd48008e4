"""The portal's first page: the figures of the city (or of the manager's agencies) at a glance."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hopthu.directory.statistics import overview
from hopthu.policy.dates import VIETNAM
from hopthu.policy.lifecycle import Status
from hopthu.store.traffic import PROTECTION_KINDS, per_day
from hopthu.web.admin.access import PORTAL, Admin, admin_page, administering
from hopthu.web.admin.privacy import open_breaches
from hopthu.web.deps import WebServices

router = APIRouter()
AGENCY_BARS = 15
DAYS = 30
# What protection did over the same days (R9.3, R13.2), in the page's two languages.
PROTECTION_LABELS = {
    "spam_refused": ("Thư rác bị từ chối", "Spam refused"),
    "spam_junk": ("Thư rác chuyển vào Thư rác", "Spam filed as junk"),
    "malware_refused": ("Thư có mã độc bị từ chối", "Malware refused"),
    "dangerous_refused": ("Thư có tệp nguy hiểm bị từ chối", "Dangerous files refused"),
    "held_outbound": ("Thư gửi đi bị giữ lại", "Outgoing mail held"),
}


@router.get(PORTAL, response_class=HTMLResponse)
async def home(
    request: Request, services: WebServices, admin: Annotated[Admin, Depends(administering)]
) -> HTMLResponse:
    city = admin.powers.sees_everything or admin.powers.auditor  # an auditor reads the city's figures
    within = None if city else admin.powers.agencies
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
    everyone = await services.directory.agencies.list()
    names = {a.id: a.name for a in everyone if city or admin.powers.covers(a.id)}
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
        protection=[
            (kind, PROTECTION_LABELS[kind], sum(c[kind] for c in days.values())) for kind in PROTECTION_KINDS
        ],
        engines=services.engines.report() if services.engines is not None else None,
        breaches=await open_breaches(request) if admin.powers.operator else [],
    )
