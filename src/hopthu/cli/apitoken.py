"""`hopthu api-token create|list|revoke`: tokens for the REST API's integrations (R9)."""

from __future__ import annotations

import typer
from rich.table import Table

from hopthu.cli.common import actor, open_directory, out, print_json, run

app = typer.Typer(help="Token cho API / REST API tokens", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Tên hệ thống dùng token, ví dụ 'Phần mềm nhân sự'"),
    role: str = typer.Option(..., "--role", help="operator | helpdesk | agency_manager | auditor"),
    agency: str | None = typer.Option(None, "--agency", help="Mã cơ quan (cho agency_manager)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Tạo token / Make a token; it is printed once and never stored in clear."""

    async def work():
        async with open_directory() as directory:
            return await directory.api_tokens.create(name, role, agency_code=agency, actor=actor())

    made, secret = run(work)
    if as_json:
        print_json(
            {"id": made.id, "name": made.name, "role": made.role, "agency": made.agency_code, "token": secret}
        )
        return
    out.print(f"Token số {made.id} ({made.name}, {made.role}): {secret}", markup=False)
    out.print("Chỉ hiện một lần: hãy lưu ngay / Shown once: store it now.")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Liệt kê token / List tokens (never their secrets)."""

    async def work():
        async with open_directory() as directory:
            return await directory.api_tokens.list()

    tokens = run(work)
    if as_json:
        print_json(
            [
                {
                    "id": t.id,
                    "name": t.name,
                    "role": t.role,
                    "agency": t.agency_code,
                    "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
                    "revoked": t.revoked_at is not None,
                }
                for t in tokens
            ]
        )
        return
    table = Table(
        "Số / Id",
        "Tên / Name",
        "Vai trò / Role",
        "Cơ quan / Agency",
        "Dùng lần cuối / Last used",
        "Thu hồi / Revoked",
    )
    for t in tokens:
        used = t.last_used_at.strftime("%Y-%m-%d %H:%M") if t.last_used_at else ""
        table.add_row(str(t.id), t.name, t.role, t.agency_code or "", used, "x" if t.revoked_at else "")
    out.print(table)


@app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="Số token")) -> None:
    """Thu hồi token / Revoke a token: calls with it are refused at once."""

    async def work():
        async with open_directory() as directory:
            await directory.api_tokens.revoke(token_id, actor=actor())

    run(work)
    out.print(f"Đã thu hồi token số {token_id} / Token {token_id} revoked.")
