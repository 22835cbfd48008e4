"""`hopthu migrate PLAN` and `hopthu migrate status`: mailboxes of the former provinces' servers
brought into ours over IMAP (R13.7), with a progress bar per mailbox and one for the whole run.

Running the same plan again resumes its unfinished run (after a crash, a pause or a failed
mailbox); once a run is done, running it again is an incremental pass that brings only new mail.
Ctrl-C (or SIGTERM) pauses: every mailbox finishes and records the batch it is storing first.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from hopthu.cli.common import EXIT_ERROR, actor, err, open_directory, out, print_json, run, settings
from hopthu.importing.engine import ImportOptions
from hopthu.importing.plan import read_plan
from hopthu.importing.service import MigrationService, RunProgress, RunReport

STATUS_WORDS = {
    "done": "xong / done",
    "running": "đang chạy / running",
    "pending": "chờ / pending",
    "paused": "tạm dừng / paused",
    "interrupted": "gián đoạn / interrupted",
    "refused": "từ chối đăng nhập / login refused",
    "over_quota": "vượt dung lượng / over quota",
    "failed": "lỗi / failed",
    "incomplete": "chưa xong / incomplete",
}


def migrate(
    plan: str = typer.Argument(..., help="Tệp kế hoạch .csv/.xlsx, hoặc 'status' / plan file, or 'status'"),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Số hộp thư chạy song song"),
    report_dir: Path | None = typer.Option(None, "--report", help="Thư mục ghi báo cáo CSV/JSON"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Chuyển hộp thư từ máy chủ cũ qua IMAP / Import mailboxes from the former servers (R13.7)."""
    if plan == "status":
        _status(as_json)
        return
    loaded = read_plan(Path(plan))
    config = settings()

    async def work() -> RunReport:
        async with open_directory(config) as directory:
            service = MigrationService(directory.ctx.store, directory.accounts, options=ImportOptions())
            run_id = await service.open_run(loaded, actor=actor())
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, service.pause, run_id)
            try:
                with _bars(as_json) as bars:
                    watcher = asyncio.create_task(_watch(service, run_id, bars))
                    try:
                        done = await service.run(run_id, concurrency=concurrency)
                    finally:
                        watcher.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await watcher
                    _show(bars, service.progress(run_id))
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(signum)
            if report_dir is not None:
                await service.write_report(run_id, report_dir)
            return done

    report = run(work)
    if as_json:
        print_json(report.as_json())
    else:
        _summary(report, report_dir)
    if report.failed:
        raise typer.Exit(EXIT_ERROR)


class _Bars:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.tasks: dict[int, TaskID] = {}
        self.overall: TaskID | None = None


@contextlib.contextmanager
def _bars(quiet: bool) -> Iterator[_Bars]:
    if quiet or not sys.stderr.isatty():
        yield _Bars(None)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as progress:
        yield _Bars(progress)


async def _watch(service: MigrationService, run_id: int, bars: _Bars) -> None:
    while True:
        _show(bars, service.progress(run_id))
        await asyncio.sleep(0.25)


def _show(bars: _Bars, snapshot: RunProgress) -> None:
    progress = bars.progress
    if progress is None:
        return
    if bars.overall is None:
        bars.overall = progress.add_task("Tất cả / All", total=None)
    progress.update(bars.overall, completed=snapshot.bytes_done, total=snapshot.bytes_total or None)
    for each in snapshot.mailboxes:
        task = bars.tasks.get(each.line)
        label = f"{each.old_address} → {each.new_address} [{STATUS_WORDS.get(each.status, each.status)}]"
        if task is None:
            task = bars.tasks[each.line] = progress.add_task(label, total=None)
        progress.update(task, description=label, completed=each.bytes_done, total=each.bytes_total or None)


def _summary(report: RunReport, report_dir: Path | None) -> None:
    done = sum(1 for m in report.mailboxes if m.mailbox.status == "done")
    out.print(
        f"Lượt chuyển / Run {report.run.id} ({report.run.plan}): {done}/{len(report.mailboxes)} xong / done",
        markup=False,
    )
    for each in report.mailboxes:
        m = each.mailbox
        line = (
            f"  dòng / line {m.line}: {m.old_address} → {m.new_address}:"
            f" {STATUS_WORDS.get(m.status, m.status)};"
            f" {m.messages:,} thư / messages, {m.bytes / 1024 / 1024:.1f} MB"
            f" (máy chủ cũ / source: {m.source_messages:,}, {m.source_bytes / 1024 / 1024:.1f} MB)"
        )
        if each.skipped:
            line += f"; bỏ qua / skipped: {len(each.skipped)}"
        out.print(line, markup=False)
        for note in each.notes:
            out.print(f"    {note}", markup=False)
        if m.error and m.status != "done":
            err.print(f"    {m.error}", markup=False)
    if report_dir is not None:
        out.print(f"Báo cáo / Report: {report_dir}", markup=False)


def _status(as_json: bool) -> None:
    config = settings()

    async def work():
        async with open_directory(config) as directory:
            service = MigrationService(directory.ctx.store, directory.accounts)
            runs = await service.runs(10)
            return runs, [await service.report(r.id) for r in runs[:1]]

    runs, latest = run(work)
    if as_json:
        print_json(
            {"runs": [r.as_json() for r in latest] + [{"id": r.id, "status": r.status} for r in runs[1:]]}
        )
        return
    if not runs:
        out.print("Chưa có lượt chuyển nào / No migration run yet", markup=False)
        return
    for r in runs:
        out.print(
            f"Lượt / Run {r.id}: {r.plan} — {STATUS_WORDS.get(r.status, r.status)},"
            f" {r.started_at:%Y-%m-%d %H:%M} {r.actor}",
            markup=False,
        )
    _summary(latest[0], None)
