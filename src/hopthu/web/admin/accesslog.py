"""The access log in the portal (R13.4, R13.6): who signed in to a mailbox, or tried to, or opened it as
its delegate, when, from where and with what program, searched by mailbox, source, protocol, result
and dates, a page at a time by id, and exported as .csv for an inspection. Only the operator's
administrators and the auditors read it (`Powers.reads_records`); every search and export is itself
in the audit log, as the mail log's are.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.directory import audit
from hopthu.directory.accesslog import PROTOCOLS, RESULTS, AccessQuery
from hopthu.errors import NotFound
from hopthu.reports.period import VIETNAM
from hopthu.web.accessnames import PROTOCOL_NAMES, RESULT_NAMES, access_csv
from hopthu.web.admin.access import PORTAL, Admin, admin_page, administering
from hopthu.web.deps import services_of

router = APIRouter()
ACCESS_LOG = f"{PORTAL}/nhat-ky-truy-cap"
PAGE_SIZE = 100
EXPORT_LIMIT = 200_000
FIELDS = ("hop_thu", "nguon", "giao_thuc", "ket_qua", "tu", "den")


def reader(admin_powers: Any) -> None:
    """403 (the portal's refusal page) for anyone but an operator or an auditor (R13.4)."""
    if not admin_powers.reads_records:
        raise HTTPException(403)


def _day(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time(), VIETNAM)
    except ValueError:
        return None


def filters_of(values: dict[str, str]) -> dict[str, str]:
    return {name: (values.get(name) or "")[:320] for name in FIELDS}


async def query_of(request: Request, filters: dict[str, str]) -> AccessQuery:
    """The search: a mailbox named by address (its sign-ins and its openings by delegates), or a
    login naming no account; the other fields as given."""
    services = services_of(request)
    named, account_id = filters["hop_thu"].strip().lower(), None
    if named:
        try:
            account_id = (await services.directory.accounts.get(named)).id
        except NotFound:
            account_id = None
    until = _day(filters["den"])
    return AccessQuery(
        account_id=account_id,
        login=named if account_id is None else "",
        source=filters["nguon"],
        protocol=filters["giao_thuc"] if filters["giao_thuc"] in PROTOCOLS else "",
        result=filters["ket_qua"] if filters["ket_qua"] in RESULTS else "",
        since=_day(filters["tu"]),
        until=until + dt.timedelta(days=1) if until else None,
    )


async def audited(request: Request, actor: str, action: str, details: dict[str, Any]) -> None:
    """Reading the log is recorded: who looked at whose accesses (R13.4)."""
    services = services_of(request)
    async with services.store.db.write() as conn:
        await audit.record(
            conn, at=services.directory.ctx.now(), actor=actor, action=action, target=None, details=details
        )


@router.get(ACCESS_LOG, response_class=HTMLResponse)
async def access_log_page(
    request: Request,
    admin: Annotated[Admin, Depends(administering)],
    truoc: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    reader(admin.powers)
    filters = filters_of(dict(request.query_params))
    log = services_of(request).directory.ctx.access_log
    found = await log.search(await query_of(request, filters), before_id=truoc, limit=PAGE_SIZE + 1)
    if any(filters.values()):
        details = {"filters": {k: v for k, v in filters.items() if v}}
        await audited(request, admin.actor, "accesslog.searched", details)
    shown = found[:PAGE_SIZE]
    return admin_page(
        request,
        admin,
        "admin/accesslog.html",
        section=ACCESS_LOG,
        events=shown,
        filters=filters,
        protocols=PROTOCOL_NAMES,
        results=RESULT_NAMES,
        query=urlencode({k: v for k, v in filters.items() if v}),
        older=shown[-1].id if len(found) > PAGE_SIZE else None,
        first_page=truoc is None,
    )


@router.get(ACCESS_LOG + "/xuat.csv")
async def export(request: Request, admin: Annotated[Admin, Depends(administering)]) -> Response:
    reader(admin.powers)
    filters = filters_of(dict(request.query_params))
    services = services_of(request)
    found = await services.directory.ctx.access_log.search(
        await query_of(request, filters), limit=EXPORT_LIMIT
    )
    await audited(
        request,
        admin.actor,
        "accesslog.exported",
        {"filters": {k: v for k, v in filters.items() if v}, "rows": len(found)},
    )
    return Response(
        access_csv(found, services.settings.server.domain),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-truy-cap.csv"'},
    )
