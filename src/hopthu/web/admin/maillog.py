"""The mail log in the portal (R13.1, Nghị định 91/2020): an operator traces a message by date,
envelope sender or recipient, From:, subject, Message-ID, client address, verdict or outcome; opens
one entry (its Received chain, To and Cc, verdicts, what became of it); and exports what was found as
.csv or .xlsx for an inspection. The log tells who wrote to whom, so every reading is itself audited.
The operator's administrators and the helpdesk read it; agency managers do not.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.directory import audit
from hopthu.reports.period import VIETNAM
from hopthu.sheets import text_only
from hopthu.store.maillog import Event, Found, MailLog, Query
from hopthu.web.admin.access import PORTAL, Admin, admin_page, administering
from hopthu.web.deps import services_of
from hopthu.web.exports import csv_row
from hopthu.web.security import csrf_ok
from hopthu.web.templating import expired_form

router = APIRouter()
MAIL_LOG = f"{PORTAL}/nhat-ky-thu"
PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
FIELDS = (
    "tu",
    "den",
    "nguoi_gui",
    "nguoi_nhan",
    "tac_gia",
    "tieu_de",
    "message_id",
    "ip",
    "ket_luan",
    "ket_qua",
)
VERDICTS = ("clean", "spam", "malware", "dangerous", "forged", "policy", "too_large", "no_mailbox", "blocked")
OUTCOMES = (
    "delivered",
    "junk",
    "queued",
    "sent",
    "deferred",
    "bounced",
    "deleted",
    "refused",
    "tempfail",
    "held",
)
HEADINGS = (
    "so", "luc", "chieu", "kenh", "ip_may_gui", "nguoi_gui", "nguoi_nhan", "tac_gia_from", "tieu_de",
    "message_id", "kich_thuoc", "diem", "ket_luan", "ket_qua", "to", "cc", "date", "received", "xac_thuc",
    "so_phan", "dien_bien",
)  # fmt: skip


def _reader(admin: Admin) -> None:
    if not admin.powers.sees_everything:
        raise HTTPException(403)


def _day(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(text.strip()), dt.time(), VIETNAM)
    except ValueError:
        return None


def _query(filters: dict[str, str]) -> Query:
    until = _day(filters["den"])
    return Query(
        since=_day(filters["tu"]),
        until=until + dt.timedelta(days=1) if until else None,
        sender=filters["nguoi_gui"],
        recipient=filters["nguoi_nhan"],
        header_from=filters["tac_gia"],
        subject=filters["tieu_de"],
        message_id=filters["message_id"],
        client_ip=filters["ip"],
        verdict=filters["ket_luan"],
        outcome=filters["ket_qua"],
    )


def _log(request: Request) -> MailLog:
    services = services_of(request)
    return services.pipeline.mail_log or MailLog(services.store.db)


async def _audited(
    request: Request, admin: Admin, action: str, target: str | None, details: dict[str, Any]
) -> None:
    """Reading the log is recorded: who looked for which messages (R13.4)."""
    services = services_of(request)
    async with services.store.db.write() as conn:
        await audit.record(
            conn,
            at=services.directory.ctx.now(),
            actor=admin.actor,
            action=action,
            target=target,
            details=details,
        )


def _filters(values: dict[str, str]) -> dict[str, str]:
    return {name: (values.get(name) or "")[:320] for name in FIELDS}


@router.get(MAIL_LOG, response_class=HTMLResponse)
async def mail_log_page(
    request: Request,
    admin: Annotated[Admin, Depends(administering)],
    truoc: int | None = None,
) -> HTMLResponse:
    _reader(admin)
    filters = _filters(dict(request.query_params))
    searched = any(filters.values())
    found: list[Found] = []
    if searched:
        found = await _log(request).search(_query(filters), before_id=truoc, limit=PAGE_SIZE + 1)
        await _audited(request, admin, "maillog.searched", None, {k: v for k, v in filters.items() if v})
    shown = found[:PAGE_SIZE]
    return admin_page(
        request,
        admin,
        "admin/maillog.html",
        section=MAIL_LOG,
        entries=shown,
        filters=filters,
        searched=searched,
        verdicts=VERDICTS,
        outcomes=OUTCOMES,
        query=urlencode({k: v for k, v in filters.items() if v}),
        older=shown[-1].id if len(found) > PAGE_SIZE else None,
        first_page=truoc is None,
    )


@router.get(MAIL_LOG + "/{entry_id}", response_class=HTMLResponse)
async def mail_log_entry(
    request: Request, entry_id: int, admin: Annotated[Admin, Depends(administering)]
) -> HTMLResponse:
    _reader(admin)
    detail = await _log(request).entry(entry_id)
    if detail is None:
        raise HTTPException(404)
    await _audited(
        request, admin, "maillog.viewed", f"maillog:{entry_id}", {"message_id": detail.entry.message_id}
    )
    return admin_page(request, admin, "admin/maillog_entry.html", section=MAIL_LOG, detail=detail)


@router.post(MAIL_LOG + "/xuat")
async def export(request: Request, admin: Annotated[Admin, Depends(administering)]) -> Response:
    """The entries the filters find, oldest first, with their documents: a POST (it is audited and
    carries the session's CSRF token), as .csv (default) or .xlsx."""
    _reader(admin)
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf_ok(request, values.get("csrf", "")):
        return expired_form(request, admin.who)
    filters = _filters(values)
    kind = "xlsx" if values.get("dinh_dang") == "xlsx" else "csv"
    log = _log(request)
    found: list[Found] = []
    before: int | None = None
    while len(found) < EXPORT_LIMIT:  # newest first, a page of 1000 at a time, then turned around
        page = await log.search(_query(filters), before_id=before, limit=1000)
        found.extend(page)
        if len(page) < 1000:
            break
        before = page[-1].id
    found.reverse()
    await _audited(
        request,
        admin,
        "maillog.exported",
        None,
        {"filters": {k: v for k, v in filters.items() if v}, "rows": len(found)},
    )
    rows: list[list[object]] = []
    for first in range(0, len(found), 1000):
        chunk = found[first : first + 1000]
        ids = [entry.id for entry in chunk]
        details, events = await log.details_of(ids), await log.events_of(ids)
        rows.extend([*_cells(e), *_more(details.get(e.id, {}), events.get(e.id, []))] for e in chunk)
    if kind == "xlsx":  # made off the event loop: a large export takes seconds
        data = await asyncio.to_thread(_xlsx, rows)
        return Response(
            data,
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": 'attachment; filename="nhat-ky-thu.xlsx"'},
        )
    return Response(
        await asyncio.to_thread(_csv, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="nhat-ky-thu.csv"'},
    )


def _csv(rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADINGS)
    for row in rows:
        writer.writerow(csv_row(row))  # a subject or an address is a stranger's text: never a formula
    return "\ufeff" + out.getvalue()  # the byte-order mark makes Excel read the file as UTF-8


def _cells(entry: Found) -> list[object]:
    return [
        entry.id,
        entry.at.astimezone(VIETNAM).isoformat(timespec="seconds"),
        entry.direction,
        entry.channel,
        entry.client_ip,
        entry.mail_from,
        entry.recipients,
        entry.header_from,
        entry.subject,
        entry.message_id,
        entry.size,
        "" if entry.score is None else entry.score,
        entry.verdict,
        entry.outcome,
    ]


def _more(details: dict[str, Any], events: list[Event]) -> list[object]:
    return [
        ", ".join(details.get("to", [])),
        ", ".join(details.get("cc", [])),
        details.get("date", ""),
        " | ".join(details.get("received", [])),
        json.dumps(details.get("auth", {}), ensure_ascii=False) if details.get("auth") else "",
        json.dumps(details.get("fates", {}), ensure_ascii=False) if details.get("fates") else "",
        " | ".join(
            f"{e.at.astimezone(VIETNAM).isoformat(timespec='seconds')} {e.kind} {e.actor} {e.detail}".strip()
            for e in events
        ),
    ]


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook  # slow to import, needed only here
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    sheet.title = "Nhật ký thư"
    sheet.append(HEADINGS)
    for row in rows:  # control characters a sender put in a subject have no place in a workbook
        sheet.append([ILLEGAL_CHARACTERS_RE.sub(" ", v) if isinstance(v, str) else v for v in row])
    out = io.BytesIO()
    text_only(book).save(out)
    return out.getvalue()
