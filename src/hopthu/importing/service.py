"""A province's migration as a service (R13.7): the same engine for `hopthu migrate` and the portal.

`MigrationService.open_run(plan)` records a run (or finds the unfinished run of the same plan, to
resume it) and returns its id; `run(run_id)` carries out its mailboxes, `concurrency` at once, each a
`MailboxImport`; `pause(run_id)` asks them to stop after the batch each is storing; `progress(run_id)`
is a snapshot for progress bars and pages; `report(run_id)` and `write_report` give the figures per
mailbox and folder, on both sides, and what was skipped and why. Everything runs on the caller's
event loop without blocking it: the files are written in a thread, messages parsed in one when large.

The plan's passwords live only in the `Plan` given to `open_run`, in this process's memory.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import datetime as dt
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hopthu.directory import audit
from hopthu.errors import Conflict, HopThuError, NotFound
from hopthu.importing.engine import ImportOptions, MailboxImport, MailboxProgress
from hopthu.importing.plan import Plan, PlanLine
from hopthu.store import Store
from hopthu.store.imports import FolderRow, ImportLedger, MailboxRow, NewMailbox, RunRow, SkipRow

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
FAILED = ("refused", "over_quota", "failed", "interrupted")


class _Account(Protocol):
    @property
    def id(self) -> int: ...


class Accounts(Protocol):
    """What the service asks the directory: our mailbox of an address (`AccountService.get`)."""

    async def get(self, address: str) -> _Account: ...


@dataclass(frozen=True, slots=True)
class RunProgress:
    run_id: int
    status: str
    mailboxes: tuple[MailboxProgress, ...]

    @property
    def messages_total(self) -> int:
        return sum(m.messages_total for m in self.mailboxes)

    @property
    def messages_done(self) -> int:
        return sum(m.messages_done for m in self.mailboxes)

    @property
    def bytes_total(self) -> int:
        return sum(m.bytes_total for m in self.mailboxes)

    @property
    def bytes_done(self) -> int:
        return sum(m.bytes_done for m in self.mailboxes)


@dataclass(frozen=True, slots=True)
class MailboxReport:
    mailbox: MailboxRow
    folders: tuple[FolderRow, ...]
    skipped: tuple[SkipRow, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunReport:
    run: RunRow
    mailboxes: tuple[MailboxReport, ...]

    @property
    def failed(self) -> list[MailboxRow]:
        return [m.mailbox for m in self.mailboxes if m.mailbox.status != "done"]

    def as_json(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


@dataclass(slots=True)
class _Active:
    plan: Plan
    stop: asyncio.Event
    progress: dict[int, MailboxProgress]  # by mailbox row id
    status: str = "running"


class MigrationService:
    def __init__(
        self,
        store: Store,
        accounts: Accounts,
        *,
        clock: Clock | None = None,
        options: ImportOptions | None = None,
    ) -> None:
        self.store = store
        self.accounts = accounts
        self.clock = clock or store.mail.clock
        self.options = options or ImportOptions()
        self.ledger = ImportLedger(store.db)
        self._active: dict[int, _Active] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}  # runs carried out in the background

    async def open_run(self, plan: Plan, *, actor: str) -> int:
        """The run that carries out `plan`: its unfinished run resumed, or a new one."""
        found = await self.ledger.unfinished_run(plan.digest)
        if found is not None:
            run_id = found.id
            await self.ledger.set_run(run_id, "running")
        else:
            run_id = await self.ledger.start_run(
                plan.name,
                plan.digest,
                actor,
                self.clock(),
                [
                    NewMailbox(line.line, line.source, line.old_address, line.new_address)
                    for line in plan.lines
                ],
            )
        said = {"plan": plan.name, "mailboxes": len(plan.lines)}
        if found is not None:
            await self._audit(actor, "migration.resumed", run_id, said)
        else:
            await self._audit(actor, "migration.started", run_id, said)
        progress = {}
        for row in await self.ledger.mailboxes(run_id):
            progress[row.id] = MailboxProgress(
                row.line,
                row.old_address,
                row.new_address,
                status=row.status,
                messages_done=row.messages,
                bytes_done=row.bytes,
                messages_total=row.messages,
                bytes_total=row.bytes,
                error=row.error if row.status != "done" else None,
            )
        self._active[run_id] = _Active(plan, asyncio.Event(), progress)
        return run_id

    async def run(self, run_id: int, *, concurrency: int = 4) -> RunReport:
        """Carry out every mailbox of the run not done yet; the run's report when all have ended."""
        active = self._active.get(run_id)
        if active is None:
            raise NotFound(
                f"Lượt chuyển {run_id} chưa được mở trong tiến trình này",
                f"Run {run_id} is not open in this process",
            )
        lines = {(line.source, line.new_address): line for line in active.plan.lines}
        gate = asyncio.Semaphore(max(1, concurrency))
        rows = [row for row in await self.ledger.mailboxes(run_id) if row.status != "done"]

        async def one(row: MailboxRow) -> None:
            async with gate:
                if active.stop.is_set():
                    return
                line = lines.get((row.source, row.new_address))
                if line is not None:
                    await self._mailbox(active, row, line)

        await asyncio.gather(*(one(row) for row in rows))
        statuses = [row.status for row in await self.ledger.mailboxes(run_id)]
        if all(status == "done" for status in statuses):
            active.status = "done"
        elif active.stop.is_set():
            active.status = "paused"
        else:
            active.status = "incomplete"
        await self.ledger.set_run(run_id, active.status, self.clock())
        return await self.report(run_id)

    async def _mailbox(self, active: _Active, row: MailboxRow, line: PlanLine) -> None:
        progress = active.progress[row.id]
        progress.error = None
        progress.messages_done = progress.bytes_done = progress.messages_total = progress.bytes_total = 0
        try:
            account = await self.accounts.get(line.new_address)
        except HopThuError as missing:
            progress.status, progress.error = "failed", str(missing)
            await self.ledger.set_mailbox(
                row.id, status="failed", error=str(missing), finished_at=self.clock()
            )
            return
        work = MailboxImport(
            self.store,
            self.ledger,
            line,
            row,
            account.id,
            progress,
            active.stop,
            options=self.options,
            clock=self.clock,
        )
        await work.run()

    def pause(self, run_id: int) -> None:
        """Ask the run to stop after the batch each mailbox is storing (a rerun resumes it)."""
        active = self._active.get(run_id)
        if active is not None:
            active.stop.set()

    # --- in the server's process (the portal) --------------------------------------------------------

    def holds(self, run_id: int) -> bool:
        """Whether this process has the run's plan, passwords included, to carry it out; after a
        restart the operator uploads the plan again (passwords are never stored)."""
        return run_id in self._active

    def running(self, run_id: int) -> bool:
        task = self._tasks.get(run_id)
        return task is not None and not task.done()

    async def start(self, run_id: int, *, actor: str, concurrency: int = 4) -> None:
        """Carry the run out in the background of this process (`run` as a task), from where it
        stopped: the portal's start and resume."""
        active = self._active.get(run_id)
        if active is None:
            raise NotFound(
                f"Lượt chuyển {run_id} cần tải lại tệp kế hoạch (mật khẩu không được lưu)",
                f"Run {run_id} needs its plan uploaded again (passwords are never stored)",
            )
        if self.running(run_id):
            raise Conflict(f"Lượt chuyển {run_id} đang chạy", f"Run {run_id} is already running")
        active.stop = asyncio.Event()
        active.status = "running"
        await self.ledger.set_run(run_id, "running")
        self._tasks[run_id] = asyncio.create_task(self._background(run_id, concurrency))

    async def pause_by(self, run_id: int, *, actor: str) -> None:
        """`pause`, recorded in the audit log (the portal's button)."""
        if not self.running(run_id):
            raise Conflict(f"Lượt chuyển {run_id} không chạy", f"Run {run_id} is not running")
        self.pause(run_id)
        await self._audit(actor, "migration.paused", run_id, None)

    async def _background(self, run_id: int, concurrency: int) -> None:
        try:
            await self.run(run_id, concurrency=concurrency)
        except Exception:
            log.exception("migration run %d stopped by an error", run_id)
            active = self._active.get(run_id)
            if active is not None:
                active.status = "incomplete"
            await self.ledger.set_run(run_id, "incomplete", self.clock())

    async def close(self) -> None:
        """At the server's stop: every run pauses after its batch, and is waited for."""
        for run_id in list(self._tasks):
            self.pause(run_id)
        running = [task for task in self._tasks.values() if not task.done()]
        if running:
            _, late = await asyncio.wait(running, timeout=30)
            for task in late:
                task.cancel()

    async def _audit(self, actor: str, action: str, run_id: int, details: dict[str, Any] | None) -> None:
        async with self.store.db.write() as conn:
            await audit.record(
                conn, at=self.clock(), actor=actor, action=action, target=f"run {run_id}", details=details
            )

    def progress(self, run_id: int) -> RunProgress:
        """A snapshot of the run as this process carries it out."""
        active = self._active.get(run_id)
        if active is None:
            return RunProgress(run_id, "unknown", ())
        copies = tuple(
            dataclasses.replace(each, notes=list(each.notes))
            for _, each in sorted(active.progress.items(), key=lambda item: item[1].line)
        )
        return RunProgress(run_id, active.status, copies)

    async def runs(self, limit: int = 20) -> list[RunRow]:
        return await self.ledger.runs(limit)

    async def run_row(self, run_id: int) -> RunRow | None:
        return await self.ledger.run(run_id)

    async def mailboxes(self, run_id: int) -> list[MailboxRow]:
        """The run's mailboxes as last recorded (after each batch's checkpoint)."""
        return await self.ledger.mailboxes(run_id)

    async def report(self, run_id: int) -> RunReport:
        run = await self.ledger.run(run_id)
        if run is None:
            raise NotFound(f"Không có lượt chuyển {run_id}", f"No migration run {run_id}")
        active = self._active.get(run_id)
        reports = []
        for row in await self.ledger.mailboxes(run_id):
            folders = await self.ledger.folders(row.account_id, row.source) if row.account_id else []
            notes = tuple(active.progress[row.id].notes) if active and row.id in active.progress else ()
            reports.append(MailboxReport(row, tuple(folders), tuple(await self.ledger.skips(row.id)), notes))
        return RunReport(run, tuple(reports))

    async def write_report(self, run_id: int, folder: Path) -> list[Path]:
        """The run's report as JSON and two CSV files (folders, skipped) in `folder`."""
        report = await self.report(run_id)
        return await asyncio.to_thread(_write_report, report, folder)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


FOLDER_COLUMNS = (
    "line",
    "old_address",
    "new_address",
    "status",
    "source_folder",
    "our_folder",
    "source_messages",
    "source_bytes",
    "imported_messages",
    "imported_bytes",
    "uidvalidity",
    "last_uid",
)
SKIP_COLUMNS = ("line", "old_address", "new_address", "folder", "uid", "size", "reason", "detail")


def _cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ would start a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _write_report(report: RunReport, folder: Path) -> list[Path]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        raise HopThuError(f"Không tạo được thư mục {folder}", f"Cannot create the folder {folder}") from None
    files = report_files(report)
    paths = [folder / name for name in files]
    try:
        for path, data in zip(paths, files.values(), strict=True):
            path.write_bytes(data)
    except OSError:
        raise HopThuError(
            f"Không ghi được báo cáo vào {folder}", f"Cannot write the report into {folder}"
        ) from None
    return paths


def report_files(report: RunReport) -> dict[str, bytes]:
    """The run's report by file name: the whole as JSON, the folders and what was skipped as CSV
    (UTF-8 with its mark, so a spreadsheet reads the Vietnamese right)."""
    stem = f"migration-run-{report.run.id}"
    folders = io.StringIO()
    writer = csv.writer(folders)
    writer.writerow(FOLDER_COLUMNS)
    skipped = io.StringIO()
    skip_writer = csv.writer(skipped)
    skip_writer.writerow(SKIP_COLUMNS)
    for each in report.mailboxes:
        m = each.mailbox
        who = (m.line, m.old_address, m.new_address)
        for f in each.folders:
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        *who,
                        m.status,
                        f.source_name,
                        f.target_name,
                        f.source_messages,
                        f.source_bytes,
                        f.messages,
                        f.bytes,
                        f.uidvalidity,
                        f.last_uid,
                    )
                ]
            )
        for s in each.skipped:
            skip_writer.writerow([_cell(v) for v in (*who, s.folder, s.uid, s.size, s.reason, s.detail)])
    return {
        f"{stem}.json": json.dumps(report.as_json(), ensure_ascii=False, indent=2).encode("utf-8"),
        f"{stem}-folders.csv": folders.getvalue().encode("utf-8-sig"),
        f"{stem}-skipped.csv": skipped.getvalue().encode("utf-8-sig"),
    }
