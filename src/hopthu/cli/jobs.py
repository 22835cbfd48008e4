"""`hopthu jobs list|run`: the scheduled jobs, their last runs, and running them now against the real
clock (so an operator, or a test under libfaketime, can see what a given day would do)."""

from __future__ import annotations

from types import SimpleNamespace

import typer
from rich.table import Table

from hopthu.cli.common import open_directory, out, print_json, run
from hopthu.directory.routing import Router
from hopthu.errors import HopThuError
from hopthu.jobs.scheduler import JOBS, Run, Scheduler
from hopthu.smtp.dns import resolver_for
from hopthu.smtp.pipeline import Pipeline

app = typer.Typer(help="Tác vụ định kỳ / Scheduled jobs", no_args_is_help=True)


def _as_json(done: Run) -> dict:
    return {
        "job": done.job,
        "slot": done.slot,
        "node": done.node,
        "started_at": done.started_at.isoformat(),
        "finished_at": done.finished_at.isoformat() if done.finished_at else None,
        "status": done.status,
        "summary": done.summary,
        "error": done.error,
    }


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Liệt kê tác vụ và lần chạy gần nhất / The jobs and their last runs."""

    async def work():
        async with open_directory() as directory:
            services = SimpleNamespace(
                store=directory.ctx.store, directory=directory, settings=directory.ctx.settings
            )
            return await Scheduler(services).last_runs(per_job=1)

    runs = run(work)
    if as_json:
        print_json({job.name: [_as_json(r) for r in runs[job.name]] for job in JOBS})
        return
    table = Table("Tác vụ / Job", "Việc / What", "Lần chạy cuối / Last run", "Kết quả / Result")
    for job in JOBS:
        last = runs[job.name][0] if runs[job.name] else None
        when = last.started_at.strftime("%Y-%m-%d %H:%M") if last else "—"
        result = "—" if last is None else f"{last.status} {last.summary or last.error or ''}"
        table.add_row(job.name, job.vi, when, result)
    out.print(table)


@app.command("run")
def run_(
    name: str = typer.Argument(..., help="Tên tác vụ, hoặc 'all'"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Chạy tác vụ ngay / Run a job (or all) now, against the real clock."""
    names = [job.name for job in JOBS] if name == "all" else [name]
    unknown = [n for n in names if n not in {job.name for job in JOBS}]
    if unknown:
        raise HopThuError(
            f"Không có tác vụ '{unknown[0]}': {', '.join(j.name for j in JOBS)}",
            f"No job '{unknown[0]}': {', '.join(j.name for j in JOBS)}",
        )

    async def work():
        async with open_directory() as directory:
            settings = directory.ctx.settings
            router = Router(directory.ctx)
            dns_file = settings.path(settings.smtp.dns_file) if settings.smtp.dns_file else None
            pipeline = Pipeline(directory.ctx.store, router, settings, resolver_for(dns_file))
            services = SimpleNamespace(
                store=directory.ctx.store, directory=directory, settings=settings, pipeline=pipeline
            )
            scheduler = Scheduler(services, node="cli")
            done = [await scheduler.run(n) for n in names]
            await pipeline.auto_replies.wait()
            return done

    done = run(work)
    if as_json:
        print_json([_as_json(r) for r in done])
    else:
        for r in done:
            out.print(f"{r.job}: {r.status} {r.summary or r.error or ''}", markup=False)
    if any(r.status != "ok" for r in done):
        raise typer.Exit(1)
