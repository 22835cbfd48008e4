"""`hopthu breach …`: personal data breaches and the 72-hour notification (R13.6)."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from hopthu.cli.common import actor, open_directory, out, print_json, run
from hopthu.errors import HopThuError
from hopthu.policy.dates import VIETNAM

app = typer.Typer(help="Sự cố dữ liệu cá nhân / Personal data breaches (R13.6)", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")


def _moment(text: str | None) -> dt.datetime | None:
    """An ISO moment; without a zone it is Vietnam's time."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise HopThuError(
            f"Thời điểm không hợp lệ: '{text}' (cần YYYY-MM-DDTHH:MM)",
            f"Invalid moment: '{text}' (expected YYYY-MM-DDTHH:MM)",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VIETNAM)


def _local(moment: dt.datetime | None) -> str:
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M") if moment else "-"


@app.command("record")
def record(
    description: str = typer.Option(..., "--description", help="Mô tả sự cố / what happened"),
    discovered_at: str | None = typer.Option(
        None, "--discovered-at", help="Lúc phát hiện, YYYY-MM-DDTHH:MM (mặc định bây giờ) / when found"
    ),
    accounts: list[str] = typer.Option([], "--account", help="Địa chỉ bị ảnh hưởng (lặp lại) / affected"),
    count: int | None = typer.Option(None, "--count", min=0, help="Số người bị ảnh hưởng / how many"),
    as_json: bool = JSON,
) -> None:
    """Ghi nhận một sự cố / Record a breach; the authority is due a notification within 72 hours."""

    async def work():
        async with open_directory() as directory:
            found = await directory.breaches.record(
                discovered_at=_moment(discovered_at) or directory.ctx.now(),
                description=description,
                affected=accounts,
                affected_count=count,
                actor=actor(),
            )
            return found, directory.ctx.now()

    found, now = run(work)
    if as_json:
        print_json(found.as_json(now))
        return
    out.print(
        f"Sự cố số {found.id}: báo cáo cơ quan chức năng trước {_local(found.standing(now).deadline)} / "
        f"breach {found.id}: notify the authority before {found.standing(now).deadline.isoformat()}",
        markup=False,
    )


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """Liệt kê sự cố / List breaches, the newest first, with their deadline."""

    async def work():
        async with open_directory() as directory:
            return await directory.breaches.listing(), directory.ctx.now()

    found, now = run(work)
    if as_json:
        print_json([b.as_json(now) for b in found])
        return
    table = Table(
        "Số / No.",
        "Phát hiện / Discovered",
        "Hạn báo cáo / Deadline",
        "Còn lại / Left",
        "Đã báo cáo / Reported",
        "Đã đóng / Closed",
        "Số người / Affected",
        "Mô tả / Description",
    )
    for b in found:
        standing = b.standing(now)
        left = " / ".join(standing.left_text()) if b.open else "-"
        table.add_row(
            str(b.id),
            _local(b.discovered_at),
            _local(standing.deadline),
            left,
            _local(b.reported_at),
            _local(b.closed_at),
            str(b.affected_count),
            b.description[:80],
        )
    out.print(table)


@app.command("close")
def close(
    breach_id: int = typer.Argument(..., help="Số sự cố / the breach's number"),
    reported: bool = typer.Option(
        False, "--reported", help="Chỉ ghi đã báo cáo cơ quan chức năng / only mark it reported"
    ),
    reported_at: str | None = typer.Option(
        None, "--reported-at", help="Lúc đã báo cáo, YYYY-MM-DDTHH:MM / when it was reported"
    ),
    as_json: bool = JSON,
) -> None:
    """Ghi đã báo cáo (--reported) hoặc đóng sự cố / Mark a breach reported, or close it."""

    async def work():
        async with open_directory() as directory:
            breaches = directory.breaches
            if reported or reported_at:
                found = await breaches.reported(breach_id, actor=actor(), at=_moment(reported_at))
            else:
                found = await breaches.close(breach_id, actor=actor())
            return found, directory.ctx.now()

    found, now = run(work)
    if as_json:
        print_json(found.as_json(now))
    elif found.closed_at:
        out.print(f"Đã đóng sự cố số {found.id} / breach {found.id} closed", markup=False)
    else:
        out.print(f"Đã ghi báo cáo sự cố số {found.id} / breach {found.id} marked reported", markup=False)
