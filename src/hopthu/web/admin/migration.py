"""Moving a former province's mailboxes in from the portal (R13.7): the operator uploads the plan
(the same file as `hopthu migrate`'s), starts the run in the server's background, pauses and resumes
it, watches each mailbox's progress and downloads the reports; an agency's manager sees the progress
of their agency's mailboxes, and nothing else of the run. The work is `importing.service`'s; the
plan's passwords stay in this process's memory only, so a run the server restarted under is resumed
by uploading its plan again (the same plan finds its unfinished run).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from hopthu.errors import HopThuError
from hopthu.importing import plan as plans
from hopthu.importing.engine import MailboxProgress
from hopthu.importing.service import MigrationService, report_files
from hopthu.services import Services
from hopthu.store.imports import MailboxRow, RunRow
from hopthu.web.admin.access import PORTAL, Admin, OperatorForm, admin_page, administering
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import services_of

router = APIRouter()
MIGRATION_PAGE = f"{PORTAL}/chuyen-hop-thu"
REFRESH_SECONDS = 3
MAX_CONCURRENCY = 16
RUNS_SHOWN = 20
_REPORTS = {
    "json": ("application/json", ".json"),
    "thu-muc": ("text/csv", "-folders.csv"),
    "bo-qua": ("text/csv", "-skipped.csv"),
}


@dataclass(frozen=True, slots=True)
class MailboxLine:
    """One mailbox of a run as the page shows it: live figures when this process carries the run,
    else what the ledger recorded."""

    line: int
    old_address: str
    new_address: str
    status: str
    messages_done: int
    messages_total: int
    bytes_done: int
    bytes_total: int
    error: str | None

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        total = self.bytes_total or self.messages_total
        done = self.bytes_done if self.bytes_total else self.messages_done
        return min(100, int(100 * done / total)) if total else 0


@router.get(MIGRATION_PAGE, response_class=HTMLResponse)
async def migration_page(
    request: Request, admin: Annotated[Admin, Depends(administering)], luot: int = 0
) -> HTMLResponse:
    return await _page(request, admin, chosen=max(0, luot))


async def _page(
    request: Request, admin: Admin, *, chosen: int = 0, error: HopThuError | None = None
) -> HTMLResponse:
    services = services_of(request)
    service = _service(services)
    runs = await service.runs(RUNS_SHOWN)
    run = next((r for r in runs if r.id == chosen), runs[0] if runs else None)
    if chosen and (run is None or run.id != chosen):
        found = await service.run_row(chosen)
        if found is None:
            raise HTTPException(404)
        run = found
    lines = await _lines(services, service, admin, run) if run is not None else []
    running = run is not None and service.running(run.id)
    return admin_page(
        request,
        admin,
        "admin/migration.html",
        status_code=400 if error else 200,
        section=MIGRATION_PAGE,
        runs=runs,
        run=run,
        lines=lines,
        running=running,
        holds=run is not None and service.holds(run.id),
        refresh=REFRESH_SECONDS if running else None,
        totals=_totals(lines),
        error=error,
    )


async def _lines(
    services: Services, service: MigrationService, admin: Admin, run: RunRow
) -> list[MailboxLine]:
    """The run's mailboxes the administrator may see: all for the operator and the helpdesk, their
    agencies' for a manager (by the agency of the mailbox each moves into)."""
    rows = await service.mailboxes(run.id)
    if not admin.powers.sees_everything:
        accounts = await services.directory.accounts.find_many([_local(r.new_address) for r in rows])
        rows = [
            r
            for r in rows
            if (found := accounts.get(_local(r.new_address))) is not None
            and admin.powers.covers(found.agency_id)
        ]
    live = {p.line: p for p in service.progress(run.id).mailboxes}
    return [_line(row, live.get(row.line)) for row in rows]


def _line(row: MailboxRow, live: MailboxProgress | None) -> MailboxLine:
    if live is not None:
        return MailboxLine(
            row.line,
            row.old_address,
            row.new_address,
            live.status,
            live.messages_done,
            live.messages_total,
            live.bytes_done,
            live.bytes_total,
            live.error,
        )
    return MailboxLine(
        row.line,
        row.old_address,
        row.new_address,
        row.status,
        row.messages,
        row.source_messages,
        row.bytes,
        row.source_bytes,
        row.error,
    )


def _totals(lines: list[MailboxLine]) -> MailboxLine:
    done = sum(1 for line in lines if line.status == "done")
    return MailboxLine(
        0,
        "",
        f"{done}/{len(lines)}",
        "",
        sum(line.messages_done for line in lines),
        sum(line.messages_total for line in lines),
        sum(line.bytes_done for line in lines),
        sum(line.bytes_total for line in lines),
        None,
    )


@router.post(MIGRATION_PAGE, response_class=HTMLResponse)
async def upload(
    request: Request,
    admin: OperatorForm,
    file: Annotated[UploadFile | None, File()] = None,
    concurrency: Annotated[int, Form()] = 4,
) -> Response:
    """The plan uploaded: read and checked line by line, its run opened (the unfinished run of the
    same plan, resumed) and started in the background."""
    service = _service(services_of(request))
    try:
        if file is None or not file.filename:
            raise HopThuError("Hãy chọn tệp kế hoạch", "Choose the plan file")
        name = file.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
        kind = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if kind not in ("csv", "xlsx"):
            raise plans.PlanError(
                f"Tệp kế hoạch phải là .csv hoặc .xlsx, không nhận '{name}'",
                f"The plan must be a .csv or .xlsx file, not '{name}'",
            )
        data = await file.read(plans.MAX_FILE + 1)
        plan = await asyncio.to_thread(plans.plan_from_bytes, name, data, xlsx=kind == "xlsx")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise HopThuError(
                f"Số hộp thư chuyển cùng lúc phải từ 1 đến {MAX_CONCURRENCY}",
                f"Mailboxes moved at once must be 1 to {MAX_CONCURRENCY}",
            )
        run_id = await service.open_run(plan, actor=admin.actor)
        if not service.running(run_id):
            await service.start(run_id, actor=admin.actor, concurrency=concurrency)
    except HopThuError as error:
        return await _page(request, admin, error=error)
    said = (f"Đã bắt đầu lượt chuyển {run_id}", f"Migration run {run_id} started")
    return redirect_after(request, admin.who, f"{MIGRATION_PAGE}?luot={run_id}", said)


@router.post(MIGRATION_PAGE + "/{run_id}/tam-dung", response_class=HTMLResponse)
async def pause(request: Request, run_id: int, admin: OperatorForm) -> Response:
    """Each mailbox stops after the batch it is storing; resuming carries on from there."""
    service = _service(services_of(request))
    try:
        await service.pause_by(run_id, actor=admin.actor)
    except HopThuError as error:
        return await _page(request, admin, chosen=run_id, error=error)
    said = (
        f"Lượt chuyển {run_id} sẽ dừng sau lô đang lưu",
        f"Run {run_id} stops after the batch being stored",
    )
    return redirect_after(request, admin.who, f"{MIGRATION_PAGE}?luot={run_id}", said)


@router.post(MIGRATION_PAGE + "/{run_id}/tiep-tuc", response_class=HTMLResponse)
async def resume(
    request: Request, run_id: int, admin: OperatorForm, concurrency: Annotated[int, Form()] = 4
) -> Response:
    service = _service(services_of(request))
    try:
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            concurrency = 4
        await service.start(run_id, actor=admin.actor, concurrency=concurrency)
    except HopThuError as error:
        return await _page(request, admin, chosen=run_id, error=error)
    said = (f"Lượt chuyển {run_id} chạy tiếp", f"Run {run_id} resumed")
    return redirect_after(request, admin.who, f"{MIGRATION_PAGE}?luot={run_id}", said)


@router.get(MIGRATION_PAGE + "/{run_id}/bao-cao-{kind}")
async def report(
    request: Request, run_id: int, kind: str, admin: Annotated[Admin, Depends(administering)]
) -> Response:
    """The run's report (the operator's and the helpdesk's: it names every mailbox of the run)."""
    if kind not in _REPORTS:
        raise HTTPException(404)
    if not admin.powers.sees_everything:
        raise HTTPException(403)
    service = _service(services_of(request))
    files = report_files(await service.report(run_id))
    media, suffix = _REPORTS[kind]
    name, data = next((n, d) for n, d in files.items() if n.endswith(suffix))
    return Response(
        data,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _service(services: Services) -> MigrationService:
    if services.migration is None:  # a process built without one (a tool, a test)
        raise HTTPException(404)
    return services.migration


def _local(address: str) -> str:
    return address.rpartition("@")[0].lower() or address.lower()
