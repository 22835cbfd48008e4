""" "Báo cáo DMARC" in the portal (the operator's): the aggregate reports other receivers sent about
our domains (who sent mail in our name, and from where it failed), the reports we sent, and the ARC
results of mail that lists and forwarders passed on to us."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hopthu.policy.dates import VIETNAM
from hopthu.protection.aggregate import report_address
from hopthu.store import dmarc
from hopthu.web.admin.access import PORTAL, Admin, admin_page, operating
from hopthu.web.deps import WebServices

router = APIRouter()
DMARC_PAGE = f"{PORTAL}/dmarc"
RECEIVED_DAYS = 30
ARC_DAYS = 14


@router.get(DMARC_PAGE, response_class=HTMLResponse)
async def reports(
    request: Request, services: WebServices, admin: Annotated[Admin, Depends(operating)]
) -> HTMLResponse:
    db = services.store.db
    now = services.directory.ctx.now()
    today = now.astimezone(VIETNAM).date()
    received = await dmarc.received_reports(db, now - dt.timedelta(days=RECEIVED_DAYS))
    return admin_page(
        request,
        admin,
        "admin/dmarc.html",
        section=DMARC_PAGE,
        address=report_address(services.settings),
        received=received,
        sent=await dmarc.last_sent(db),
        arc=await dmarc.arc_per_day(db, today - dt.timedelta(days=ARC_DAYS), today),
        arc_results=dmarc.ARC_RESULTS,
        days=RECEIVED_DAYS,
    )
