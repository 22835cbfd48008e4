"""The audit log in the portal (R6, R13.4): every act, newest first, filtered by who, what, on whom
and when, a page at a time by id; and the filtered log exported as .csv for an inspection. The
operator's administrators and the auditors read it (R13.4: `Powers.reads_records`); the helpdesk and
agency managers do not.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.directory import auditlog
from hopthu.directory.auditlog import AuditFilter
from hopthu.reports.period import VIETNAM
from hopthu.web.admin.access import PORTAL, Admin, admin_page, administering
from hopthu.web.admin.auditnames import action_choices
from hopthu.web.deps import WebServices
from hopthu.web.exports import csv_row

router = APIRouter()
AUDIT = f"{PORTAL}/nhat-ky"
PAGE_SIZE = 100
EXPORT_LIMIT = 200_000


def _reader(admin: Admin) -> None:
    if not admin.powers.reads_records:
        raise HTTPException(403)


def _day(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), VIETNAM)
    except ValueError:
        return None


def _filter(filters: dict[str, str]) -> AuditFilter:
    since, until = _day(filters["tu"]), _day(filters["den"])
    return AuditFilter(
        actor=filters["nguoi"].strip() if filters["nguoi"] else None,
        action_prefix=filters["thao_tac"].strip() if filters["thao_tac"] else None,
        target=filters["doi_tuong"].strip().lower() if filters["doi_tuong"] else None,
        since=since,
        until=until + dt.timedelta(days=1) if until else None,
    )


@router.get(AUDIT, response_class=HTMLResponse)
async def audit_log(
    request: Request,
    services: WebServices,
    admin: Annotated[Admin, Depends(administering)],
    nguoi: str = "",
    thao_tac: str = "",
    doi_tuong: str = "",
    tu: str = "",
    den: str = "",
    truoc: int | None = None,
) -> HTMLResponse:
    _reader(admin)
    filters = {"nguoi": nguoi, "thao_tac": thao_tac, "doi_tuong": doi_tuong, "tu": tu, "den": den}
    rows = await auditlog.newest(services.store.db, _filter(filters), before=truoc, limit=PAGE_SIZE + 1)
    shown = rows[:PAGE_SIZE]
    query_string = urlencode({k: v for k, v in filters.items() if v})
    return admin_page(
        request,
        admin,
        "admin/audit.html",
        section=AUDIT,
        events=shown,
        filters=filters,
        action_choices=action_choices(),
        query=query_string,
        older=shown[-1].id if len(rows) > PAGE_SIZE else None,
        first_page=truoc is None,
    )


@router.get(AUDIT + "/xuat.csv")
async def export(
    services: WebServices,
    admin: Annotated[Admin, Depends(administering)],
    nguoi: str = "",
    thao_tac: str = "",
    doi_tuong: str = "",
    tu: str = "",
    den: str = "",
) -> Response:
    _reader(admin)
    filters = {"nguoi": nguoi, "thao_tac": thao_tac, "doi_tuong": doi_tuong, "tu": tu, "den": den}
    rows = await auditlog.oldest_first(services.store.db, _filter(filters), limit=EXPORT_LIMIT)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["so", "luc", "nguoi_lam", "thao_tac", "doi_tuong", "ly_do", "can_cu", "chi_tiet"])
    for row in rows:
        at = row.at.astimezone(VIETNAM).isoformat(timespec="seconds")
        details = json.dumps(row.details, ensure_ascii=False) if row.details else ""
        writer.writerow(  # a reason or a target may be anyone's text: never a formula
            csv_row(
                [
                    row.id,
                    at,
                    row.actor,
                    row.action,
                    row.target or "",
                    row.reason or "",
                    row.ref or "",
                    details,
                ]
            )
        )
    return Response(
        "\ufeff" + out.getvalue(),  # the byte-order mark makes Excel read the file as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-quan-tri.csv"'},
    )
