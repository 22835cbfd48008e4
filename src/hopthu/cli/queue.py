"""`hopthu queue …`: what waits to leave for other domains, and the operator's hand on it.

`list` shows rows, `retry` makes waiting rows due now (a running server picks them up within
`outbound.IDLE_SECONDS`), `delete` gives one up without a bounce and records who did it and why.
"""

from __future__ import annotations

import typer
from rich.table import Table

from hopthu.cli.common import actor, open_directory, out, print_json, run
from hopthu.errors import HopThuError
from hopthu.smtp import outbound

app = typer.Typer(help="Hàng đợi thư gửi đi / Outbound queue", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")


@app.command("list")
def list_(
    status: str = typer.Option(
        "queued", "--status", help="queued | delivered | bounced | deleted | all (mặc định / default: queued)"
    ),
    limit: int = typer.Option(1000, "--limit", min=1),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = JSON,
) -> None:
    """Liệt kê thư trong hàng đợi / List the outbound queue, oldest first."""
    wanted = None if status.strip().lower() == "all" else status.strip().lower()

    async def work():
        async with open_directory() as directory:
            return await outbound.list_entries(
                directory.ctx.store.db, status=wanted, limit=limit, offset=offset
            )

    entries = run(work)
    if as_json:
        print_json([e.as_json() for e in entries])
        return
    table = Table(
        "Số / ID",
        "Trạng thái / Status",
        "Người gửi / Sender",
        "Người nhận / Recipient",
        "Lần thử / Attempts",
        "Lần tới / Next attempt",
        "Lỗi gần nhất / Last error",
    )
    for e in entries:
        table.add_row(
            str(e.id),
            e.status,
            e.sender or "<>",
            e.recipient,
            str(e.attempts),
            e.next_attempt_at.isoformat(timespec="seconds") if e.status == "queued" else "-",
            e.last_error or "",
        )
    out.print(table)
    out.print(f"Số thư / entries: {len(entries)}")


@app.command("retry")
def retry(
    entry_id: int | None = typer.Argument(None, help="Số thư trong hàng đợi / queue entry ID"),
    every: bool = typer.Option(False, "--all", help="Mọi thư đang chờ / every waiting entry"),
    as_json: bool = JSON,
) -> None:
    """Gửi lại ngay / Make a waiting entry (or every one, with --all) due now."""
    if (entry_id is None) == (not every):
        raise HopThuError(
            "Cần đúng một trong hai: số thư hoặc --all",
            "Give exactly one of: an entry ID or --all",
        )

    async def work():
        async with open_directory() as directory:
            return await outbound.retry_now(directory.ctx.store.db, directory.ctx.now(), entry_id)

    count = run(work)
    if as_json:
        print_json({"retried": count})
    else:
        out.print(f"Đã đặt gửi lại ngay / set to be retried now: {count}")


@app.command("delete")
def delete(
    entry_id: int = typer.Argument(..., help="Số thư trong hàng đợi / queue entry ID"),
    reason: str = typer.Option(..., "--reason", help="Lý do, ghi vào nhật ký / reason, for the audit log"),
    as_json: bool = JSON,
) -> None:
    """Hủy gửi một thư, không báo lại người gửi / Give up one entry without a bounce (audited)."""
    if not reason.strip():
        raise HopThuError("Cần ghi lý do (--reason)", "A reason is required (--reason)")

    async def work():
        async with open_directory() as directory:
            return await outbound.delete_entry(
                directory.ctx.store.db,
                entry_id,
                reason=reason.strip(),
                actor=actor(),
                now=directory.ctx.now(),
            )

    entry = run(work)
    if as_json:
        print_json(entry.as_json())
    else:
        out.print(
            f"Đã hủy gửi / deleted: {entry.id} {entry.sender or '<>'} → {entry.recipient}", markup=False
        )
