"""The operator's page of old addresses (R13.7): the former provinces' addresses and the mailboxes they
reach, searched and filtered by agency; a list uploaded (.xlsx or .csv, the template downloadable),
previewed row by row (the new address each person would get by R4, or what is wrong), then imported;
an old address removed. The work is the directory's (`directory.former`, `directory.formerimport`):
audited, and checked again at import, whatever the preview's form carried.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from hopthu.directory import formerimport
from hopthu.directory.formerimport import FormerRow, ImportResult
from hopthu.errors import HopThuError
from hopthu.web.admin.access import PORTAL, Admin, OperatorForm, admin_page, operating
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import services_of
from hopthu.web.lists import MEDIA_TYPES, pack_table, unpack_table

router = APIRouter()
FORMER_PAGE = f"{PORTAL}/dia-chi-cu"
PAGE_SIZE = 200
SHOWN_READY = 200  # good rows a preview lists; every row with a problem is listed
_FIELDS = tuple(f.name for f in dataclasses.fields(FormerRow))


def pack(rows: list[FormerRow]) -> str:
    """The previewed rows, carried by the form to the import (`web.lists.pack_table`)."""
    return pack_table([[getattr(row, name) for name in _FIELDS] for row in rows])


def unpack(packed: str) -> list[FormerRow]:
    """The rows `pack` carried; ValueError for anything else (a form changed by hand)."""
    try:
        return [
            FormerRow(int(line), *(str(value)[:500] for value in rest))
            for line, *rest in unpack_table(packed, formerimport.MAX_ROWS)
        ]
    except TypeError as error:
        raise ValueError(str(error)) from None


@router.get(FORMER_PAGE, response_class=HTMLResponse)
async def former_page(
    request: Request,
    admin: Annotated[Admin, Depends(operating)],
    q: str = "",
    agency: str = "",
    page: int = 1,
) -> HTMLResponse:
    return await _page(request, admin, q=q[:320], agency=agency[:64], page=max(1, min(page, 10_000)))


async def _page(
    request: Request,
    admin: Admin,
    *,
    q: str = "",
    agency: str = "",
    page: int = 1,
    error: HopThuError | None = None,
) -> HTMLResponse:
    services = services_of(request)
    found = await services.directory.former.list(
        agency_code=agency or None, search=q, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    return admin_page(
        request,
        admin,
        "admin/former.html",
        status_code=400 if error else 200,
        section=FORMER_PAGE,
        found=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        page=page,
        q=q,
        agency=agency,
        agencies=await services.directory.agencies.list(),
        domains=services.directory.former.domains,
        domain=services.settings.server.domain,
        error=error,
    )


@router.get(FORMER_PAGE + "/mau.{fmt}")
async def template(fmt: str, admin: Annotated[Admin, Depends(operating)]) -> Response:
    """The list's template, with its one example row."""
    if fmt not in MEDIA_TYPES:
        raise HTTPException(404)
    return Response(
        formerimport.template(fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{formerimport.TEMPLATE_NAME}.{fmt}"'},
    )


@router.post(FORMER_PAGE + "/xem-truoc", response_class=HTMLResponse)
async def preview(
    request: Request,
    admin: OperatorForm,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Every row as it would be imported now; nothing changes yet."""
    services = services_of(request)
    try:
        if file is None or not file.filename:
            raise HopThuError("Hãy chọn tệp danh sách", "Choose the list file")
        data = await file.read(formerimport.MAX_BYTES + 1)
        rows = await asyncio.to_thread(formerimport.read_rows, data, file.filename)
    except HopThuError as error:
        return await _page(request, admin, error=error)
    results = await services.directory.former_import.plan(rows)
    return _results_page(request, admin, results, done=False)


@router.post(FORMER_PAGE + "/nhap", response_class=HTMLResponse)
async def import_list(request: Request, admin: OperatorForm, rows: Annotated[str, Form()] = "") -> Response:
    """Import the previewed list: mailboxes created by R4 and old addresses recorded, checked again."""
    try:
        parsed = unpack(rows)
    except ValueError:
        raise HTTPException(422) from None
    results = await services_of(request).directory.former_import.run(parsed, actor=admin.actor)
    return _results_page(request, admin, results, done=True)


def _results_page(request: Request, admin: Admin, results: list[ImportResult], *, done: bool) -> HTMLResponse:
    ready = [r for r in results if r.error is None]
    return admin_page(
        request,
        admin,
        "admin/former_preview.html",
        section=FORMER_PAGE,
        imported=done,
        total=len(results),
        ready=len(ready),
        created=sum(1 for r in ready if r.created),
        failing=[r for r in results if r.error],
        # After the import every new mailbox is listed: its temporary password is shown this once.
        shown=[r for r in ready if r.temporary_password] if done else ready[:SHOWN_READY],
        packed="" if done else pack([r.row for r in ready]),
        domain=services_of(request).settings.server.domain,
    )


@router.post(FORMER_PAGE + "/bo", response_class=HTMLResponse)
async def remove(request: Request, admin: OperatorForm, address: Annotated[str, Form()] = "") -> Response:
    try:
        await services_of(request).directory.former.remove(address[:320], actor=admin.actor)
    except HopThuError as error:
        return await _page(request, admin, error=error)
    done = (f"Đã bỏ địa chỉ cũ {address}.", f"The old address {address} was removed.")
    return redirect_after(request, admin.who, FORMER_PAGE, done)
