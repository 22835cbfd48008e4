"""`hopthu report`: the periodic report (R9.3, R9.7) for the city or one agency, as .xlsx or PDF."""

from __future__ import annotations

from pathlib import Path

import typer

from hopthu.cli.common import open_directory, out, run
from hopthu.errors import HopThuError
from hopthu.reports import render
from hopthu.reports.gather import gather
from hopthu.reports.period import parse_period


def report(
    period: str = typer.Option(..., "--period", help="2026-11 (tháng), 2026-Q4 (quý) hoặc 2026 (năm)"),
    format: str = typer.Option("xlsx", "--format", help="xlsx | pdf"),
    agency: str | None = typer.Option(None, "--agency", help="Mã cơ quan (mặc định: toàn thành phố)"),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Tệp ghi ra (mặc định: bao-cao-<kỳ>.<định dạng>)"
    ),
) -> None:
    """Báo cáo định kỳ / Periodic report for a month, quarter or year (R9.3, R9.7)."""
    if format not in ("xlsx", "pdf"):
        raise HopThuError(f"Định dạng không hợp lệ: {format} (xlsx hoặc pdf)", f"Invalid format: {format}")
    chosen = parse_period(period)

    async def work():
        async with open_directory() as directory:
            within = None
            if agency:
                found = await directory.agencies.get(agency)
                within = await directory.agencies.subtree(found.id)
            return await gather(directory.ctx.store.db, chosen, now=directory.ctx.now(), within=within)

    made = run(work)
    data = render.xlsx(made) if format == "xlsx" else render.pdf(made)
    target = output or Path(f"bao-cao-{chosen.label}{'-' + agency if agency else ''}.{format}")
    target.write_bytes(data)
    out.print(f"Đã ghi / Written: {target} ({len(made.lines)} cơ quan, đơn vị)", markup=False)
