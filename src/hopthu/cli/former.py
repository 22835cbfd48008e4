"""`hopthu former import|add|remove|list`: the former provinces' people and their old addresses (R13.7).

`import` reads a list (.xlsx or .csv) of old addresses and their people, gives each person a mailbox
by R4 (or records the one they have) and the old address as theirs; `--dry-run` shows what it would
do and changes nothing. Temporary passwords are printed once, like `hopthu account import`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from hopthu.cli.common import EXIT_ERROR, actor, counting_bar, fail, open_directory, out, print_json, run
from hopthu.directory import formerimport
from hopthu.directory.formerimport import ImportResult
from hopthu.errors import HopThuError

app = typer.Typer(
    help="Địa chỉ cũ của tỉnh trước sáp nhập / Former provinces' addresses", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")


def _read(file: Path) -> list[formerimport.FormerRow]:
    if not file.is_file():
        raise HopThuError(f"Không tìm thấy tệp {file}", f"File not found: {file}")
    if file.stat().st_size > formerimport.MAX_BYTES:
        raise formerimport.TooLarge.bytes()
    return formerimport.read_rows(file.read_bytes(), file.name)


def _print_results(results: list[ImportResult], domain: str, *, dry_run: bool) -> None:
    table = Table(
        "Dòng / Line",
        "Địa chỉ cũ / Old address",
        "Họ tên / Name",
        "Địa chỉ mới / New address",
        "Mật khẩu tạm / Temporary password",
        "Ghi chú / Note",
    )
    for r in results:
        new = f"{r.address}@{domain}" if r.address and r.error is None else ""
        if r.error:
            note = r.error
        elif r.created:
            note = "sẽ cấp mới / to be created" if dry_run else "cấp mới / created"
        else:
            note = "hộp thư đã có / existing mailbox"
        table.add_row(str(r.row.line), r.old or r.row.old, r.name, new, r.temporary_password or "", note)
    out.print(table)


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., help="Tệp .xlsx hoặc .csv: địa chỉ cũ, họ, tên đệm, tên, mã cơ quan, cấp bậc"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Chỉ xem trước / preview only, change nothing"),
    as_json: bool = JSON,
) -> None:
    """Nhập danh sách địa chỉ cũ / Import a list of old addresses and their people (R13.7, R4)."""
    try:
        rows = _read(file)
    except HopThuError as error:
        fail(error)

    async def work():
        async with open_directory() as directory:
            importer = directory.former_import
            if dry_run:
                results = await importer.plan(rows)
            else:
                with counting_bar("Đăng ký / Registering") as bar:
                    task = bar.add_task("", total=len(rows))
                    results = await importer.run(rows, actor=actor(), progress=lambda n: bar.advance(task, n))
            return results, directory.ctx.settings.server.domain

    results, domain = run(work)
    good = [r for r in results if r.error is None]
    created = sum(1 for r in good if r.created)
    failed = len(results) - len(good)
    if as_json:
        print_json(
            {
                "dry_run": dry_run,
                "recorded": len(good),
                "created": created,
                "failed": failed,
                "rows": [r.as_json(domain) for r in results],
            }
        )
    else:
        _print_results(results, domain, dry_run=dry_run)
        verb = ("Sẽ ghi", "would record") if dry_run else ("Đã ghi", "recorded")
        out.print(
            f"{verb[0]} {len(good)} địa chỉ cũ, cấp mới {created} hộp thư; lỗi {failed} dòng / "
            f"{verb[1]} {len(good)} old addresses, {created} new mailboxes; {failed} rows failed",
            markup=False,
        )
    if failed:
        raise typer.Exit(EXIT_ERROR)


@app.command("add")
def add(
    old: str = typer.Argument(..., help="Địa chỉ cũ, ví dụ nvminh@soctrang.gov.vn"),
    new: str = typer.Argument(..., help="Hộp thư hiện nay, ví dụ nvminh3"),
    reason: str | None = typer.Option(None, "--reason", help="Lý do / reason"),
) -> None:
    """Ghi một địa chỉ cũ cho một hộp thư / Record one old address for a mailbox (audited)."""

    async def work():
        async with open_directory() as directory:
            made = await directory.former.add(old, new, actor=actor(), reason=reason)
            return made, directory.ctx.settings.server.domain

    made, domain = run(work)
    out.print(f"{made.address} → {made.local}@{domain}", markup=False)


@app.command("remove")
def remove(
    old: str = typer.Argument(..., help="Địa chỉ cũ / old address"),
    reason: str | None = typer.Option(None, "--reason", help="Lý do / reason"),
) -> None:
    """Bỏ một địa chỉ cũ / Remove an old address (audited); mail to it is then refused."""

    async def work():
        async with open_directory() as directory:
            await directory.former.remove(old, actor=actor(), reason=reason)

    run(work)
    out.print(f"Đã bỏ / Removed: {old.strip().lower()}", markup=False)


@app.command("list")
def list_(
    agency: str | None = typer.Option(None, "--agency", help="Chỉ người của cơ quan này / only this agency"),
    search: str = typer.Option("", "--search", help="Một phần địa chỉ / part of an address"),
    limit: int = typer.Option(1000, "--limit", min=1, max=10_000),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = JSON,
) -> None:
    """Liệt kê địa chỉ cũ / List old addresses and the mailboxes they reach."""

    async def work():
        async with open_directory() as directory:
            found = await directory.former.list(agency_code=agency, search=search, limit=limit, offset=offset)
            return found, directory.ctx.settings.server.domain

    found, domain = run(work)
    if as_json:
        print_json([f.as_json(domain) for f in found])
        return
    table = Table(
        "Địa chỉ cũ / Old address", "Địa chỉ mới / New address", "Họ tên / Name", "Cơ quan / Agency"
    )
    for f in found:
        table.add_row(f.address, f"{f.local}@{domain}", f.display_name, f.agency)
    out.print(table)
