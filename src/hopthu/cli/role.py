"""`hopthu role grant|revoke|list`: who administers what (R9, R10.4, R13.4), from the console.

The console is where the first operator is made (`hopthu init`); from here the operator gives the
other roles, or from the portal's roles page, which does the same through `directory.roles`.
"""

from __future__ import annotations

import typer
from rich.table import Table

from hopthu.cli.common import actor, open_directory, out, print_json, run

app = typer.Typer(help="Vai trò quản trị / Administrative roles", no_args_is_help=True)
ROLE_HELP = "operator | helpdesk | agency_manager | auditor"
AGENCY_HELP = "Mã cơ quan (cho agency_manager) / agency code (for agency_manager)"


@app.command("grant")
def grant(
    address: str = typer.Argument(..., help="Địa chỉ thư / mailbox address"),
    role: str = typer.Argument(..., help=ROLE_HELP),
    agency: str | None = typer.Option(None, "--agency", help=AGENCY_HELP),
) -> None:
    """Giao vai trò / Grant a role (audited)."""

    async def work():
        async with open_directory() as directory:
            return await directory.roles.grant(address, role, agency_code=agency, actor=actor())

    made = run(work)
    where = f" ({made.agency_code})" if made.agency_code else ""
    out.print(f"Đã giao {made.role}{where} cho {made.local} / Granted.", markup=False)


@app.command("revoke")
def revoke(
    address: str = typer.Argument(..., help="Địa chỉ thư / mailbox address"),
    role: str = typer.Argument(..., help=ROLE_HELP),
    agency: str | None = typer.Option(None, "--agency", help=AGENCY_HELP),
) -> None:
    """Bỏ vai trò / Withdraw a role (audited; the last operator stays)."""

    async def work():
        async with open_directory() as directory:
            await directory.roles.revoke(address, role, agency_code=agency, actor=actor())

    run(work)
    out.print(f"Đã bỏ vai trò {role} của {address} / Withdrawn.", markup=False)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Liệt kê vai trò / List who holds which role."""

    async def work():
        async with open_directory() as directory:
            return await directory.roles.grants(), directory.ctx.settings.server.domain

    grants, domain = run(work)
    if as_json:
        print_json(
            [
                {"address": g.address(domain), "name": g.name, "role": g.role, "agency": g.agency_code}
                for g in grants
            ]
        )
        return
    table = Table("Địa chỉ / Address", "Họ tên / Name", "Vai trò / Role", "Cơ quan / Agency")
    for g in grants:
        table.add_row(g.address(domain), g.name, g.role, g.agency_code or "")
    out.print(table)
