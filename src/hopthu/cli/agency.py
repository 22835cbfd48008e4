"""`hopthu agency add|list`: the tree of agencies and sub-units (R1.1, R4.1, R4.2)."""

from __future__ import annotations

import typer
from rich.table import Table

from hopthu.cli.common import actor, open_directory, out, print_json, run

app = typer.Typer(help="Cơ quan, đơn vị / Agencies and sub-units", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="Tên đầy đủ, ví dụ 'Sở Nội vụ'"),
    code: str | None = typer.Option(None, "--code", help="Địa chỉ chọn sẵn (mặc định: hệ thống đề xuất)"),
    parent: str | None = typer.Option(None, "--parent", help="Mã cơ quan cấp trên (cho đơn vị trực thuộc)"),
    kind: str | None = typer.Option(None, "--kind", help="agency | subunit"),
    staff_count: int | None = typer.Option(None, "--staff", min=0, help="Số cán bộ khai báo (R10.4)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Thêm cơ quan hoặc đơn vị trực thuộc / Add an agency or sub-unit (with its agency mailbox)."""

    async def work():
        async with open_directory() as directory:
            made = await directory.agencies.add(
                name, code=code, parent=parent, kind=kind, staff_count=staff_count, actor=actor()
            )
            return made, directory.ctx.settings.server.domain

    made, domain = run(work)
    if as_json:
        print_json({**made.as_json(), "address": f"{made.code}@{domain}"})
    else:
        out.print(f"{made.name}: {made.code}@{domain}", markup=False)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Liệt kê cơ quan, đơn vị / List agencies and sub-units."""

    async def work():
        async with open_directory() as directory:
            return await directory.agencies.list()

    agencies = run(work)
    if as_json:
        print_json([a.as_json() for a in agencies])
        return
    table = Table("Mã / Code", "Tên / Name", "Loại / Kind", "Cấp trên / Parent", "Trạng thái / Status")
    for a in agencies:
        table.add_row(a.code, a.name, a.kind, a.parent_code or "", a.status)
    out.print(table)
