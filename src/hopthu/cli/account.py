"""`hopthu account …`: register people (R4.3, R6.1), passwords (R5.2), lifecycle (R6), quota (R5.1)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import typer
from rich.table import Table

from hopthu.cli.common import (
    EXIT_ERROR,
    EXIT_NEEDS_ADMINISTRATOR,
    actor,
    counting_bar,
    err,
    fail,
    open_directory,
    out,
    print_json,
    run,
)
from hopthu.directory.listfile import read_people
from hopthu.directory.people import PersonRow, RowResult
from hopthu.errors import HopThuError
from hopthu.importing.archiveimport import ImportResult, reason_words
from hopthu.importing.archiveimport import Progress as Done
from hopthu.importing.archiveimport import import_archive as run_import
from hopthu.importing.items import Bounds
from hopthu.importing.sink import MailboxSink
from hopthu.policy.lifecycle import REASONS, Action, Status
from hopthu.policy.quota import format_size

app = typer.Typer(help="Hộp thư / Accounts", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="In kết quả dạng JSON / print JSON")


def _print_results(results: list[RowResult], domain: str) -> None:
    table = Table(
        "Dòng / Line",
        "Họ tên / Name",
        "Địa chỉ / Address",
        "Mật khẩu tạm / Temporary password",
        "Ghi chú / Note",
    )
    for r in results:
        name = " ".join(p for p in (r.row.family, r.row.middle, r.row.given) if p)
        if r.address:
            table.add_row(str(r.row.line), name, f"{r.address}@{domain}", r.temporary_password or "", "")
        elif r.proposals:
            table.add_row(
                str(r.row.line),
                name,
                "",
                "",
                "Cần quản trị viên chọn (R4.3b) / needs an administrator: " + ", ".join(r.proposals),
            )
        else:
            table.add_row(str(r.row.line), name, "", "", r.error or "")
    out.print(table)


@app.command("add")
def add(
    family: str = typer.Option(..., "--family", help="Họ, ví dụ 'Nguyễn'"),
    middle: str = typer.Option("", "--middle", help="Tên đệm, có thể nhiều từ hoặc trống"),
    given: str = typer.Option(..., "--given", help="Tên, ví dụ 'Minh'"),
    agency: str = typer.Option(..., "--agency", help="Mã cơ quan, ví dụ 'sonv'"),
    rank: int = typer.Option(0, "--rank", help="Cấp bậc lãnh đạo: số lớn hơn là cao hơn"),
    date: str | None = typer.Option(None, "--date", help="Ngày đăng ký YYYY-MM-DD (mặc định hôm nay)"),
    address: str | None = typer.Option(None, "--address", help="Địa chỉ quản trị viên chọn (R4.3b)"),
    job_title: str | None = typer.Option(
        None, "--title", help="Chức vụ hiện trong danh bạ, ví dụ 'Phó Trưởng phòng' / Job title"
    ),
    as_json: bool = JSON,
) -> None:
    """Cấp hộp thư cho một người / Register one person; prints the address and a temporary password."""
    on = None
    if date:
        try:
            on = dt.date.fromisoformat(date)
        except ValueError:
            raise HopThuError(
                f"Ngày không hợp lệ: '{date}' (cần YYYY-MM-DD)",
                f"Invalid date: '{date}' (expected YYYY-MM-DD)",
            ) from None
    row = PersonRow(family, middle, given, agency.strip().lower(), rank, on, address, job_title, line=1)

    async def work():
        async with open_directory() as directory:
            return (await directory.people.register([row], actor=actor()))[0], directory.ctx.settings

    result, settings = run(work)
    domain = settings.server.domain
    if as_json:
        print_json(result.as_json() | {"domain": domain})
    elif result.address:
        out.print(f"Địa chỉ / Address: {result.address}@{domain}", markup=False)
        out.print(
            f"Mật khẩu tạm (chỉ hiện một lần, phải đổi khi dùng lần đầu) / Temporary password "
            f"(shown once, must be changed at first use): {result.temporary_password}",
            markup=False,
        )
    elif result.proposals:
        err.print(
            "Cần quản trị viên chọn địa chỉ (R4.3b); chạy lại với --address / An administrator must "
            "choose the address (R4.3b); run again with --address. Đề xuất / Proposals:",
            markup=False,
        )
        for proposal in result.proposals:
            err.print(f"  {proposal}@{domain}", markup=False)
    else:
        err.print(f"Lỗi: {result.error}", markup=False)
    if result.address is None:
        raise typer.Exit(EXIT_NEEDS_ADMINISTRATOR if result.proposals else EXIT_ERROR)


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., help="Tệp .csv hoặc .xlsx: family, middle, given, agency, rank, date[, job_title]"
    ),
    as_json: bool = JSON,
) -> None:
    """Cấp hộp thư theo danh sách / Register a list of people together (R4.3b, R10.3)."""
    rows = read_people(file)

    async def work():
        async with open_directory() as directory:
            with counting_bar("Đăng ký / Registering") as bar:
                task = bar.add_task("", total=len(rows))
                results = await directory.people.register(
                    rows, actor=actor(), progress=lambda n: bar.advance(task, n)
                )
            return results, directory.ctx.settings.server.domain

    results, domain = run(work)
    created = sum(1 for r in results if r.address)
    waiting = sum(1 for r in results if r.needs_administrator)
    failed = len(results) - created - waiting
    if as_json:
        print_json(
            {
                "created": created,
                "needs_administrator": waiting,
                "failed": failed,
                "rows": [r.as_json() for r in results],
            }
        )
    else:
        _print_results(results, domain)
        out.print(
            f"Đã cấp / created: {created}; chờ quản trị viên chọn / waiting for an administrator: "
            f"{waiting}; lỗi / failed: {failed}"
        )
    if failed or waiting:
        raise typer.Exit(EXIT_NEEDS_ADMINISTRATOR if not failed else EXIT_ERROR)


@app.command("list")
def list_(
    agency: str | None = typer.Option(None, "--agency", help="Chỉ cơ quan này / only this agency"),
    status: str | None = typer.Option(None, "--status", help="active | locked | revoked | deleted"),
    limit: int = typer.Option(1000, "--limit", min=1),
    offset: int = typer.Option(0, "--offset", min=0),
    as_json: bool = JSON,
) -> None:
    """Liệt kê hộp thư / List accounts."""

    async def work():
        async with open_directory() as directory:
            found = await directory.accounts.list(
                agency_code=agency, status=status, limit=limit, offset=offset
            )
            return found, directory.ctx.settings.server.domain

    accounts, domain = run(work)
    if as_json:
        print_json([a.as_json(domain) for a in accounts])
        return
    table = Table(
        "Địa chỉ / Address",
        "Tên hiển thị / Display name",
        "Loại / Kind",
        "Trạng thái / Status",
        "Dung lượng / Usage",
    )
    for a in accounts:
        table.add_row(
            a.address(domain),
            a.display_name,
            a.kind,
            a.status,
            f"{format_size(a.usage_bytes)} / {format_size(a.quota_bytes)}",
        )
    out.print(table)


@app.command("show")
def show(address: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """Chi tiết một hộp thư / Show one account with its history."""

    async def work():
        async with open_directory() as directory:
            found = await directory.accounts.get(address)
            return (
                found,
                await directory.accounts.aliases(found.local),
                await directory.accounts.history(found.local),
                directory.ctx.settings.server.domain,
            )

    found, aliases, history, domain = run(work)
    if as_json:
        print_json(
            found.as_json(domain)
            | {
                "aliases": [f"{a}@{domain}" for a in aliases],
                "history": [
                    {
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "reason": e.reason,
                        "ref": e.ref,
                    }
                    for e in history
                ],
            }
        )
        return
    for label, value in (
        ("Địa chỉ / Address", found.address(domain)),
        ("Tên hiển thị / Display name", found.display_name),
        ("Cơ quan / Agency", found.agency_code),
        ("Loại / Kind", found.kind),
        ("Trạng thái / Status", found.status + (f" ({found.status_reason})" if found.status_reason else "")),
        (
            "Dung lượng / Usage",
            f"{format_size(found.usage_bytes)} / {format_size(found.quota_bytes)}, {found.message_count} thư",
        ),
        (
            "Phải đổi mật khẩu / Must change password",
            "có / yes" if found.must_change_password else "không / no",
        ),
        ("Đổi mật khẩu lúc / Password changed", found.password_changed_at.isoformat(timespec="seconds")),
        ("Bí danh / Aliases", ", ".join(f"{a}@{domain}" for a in aliases) or "-"),
    ):
        out.print(f"{label}: {value}", markup=False)
    for event in history:
        out.print(
            f"  {event.at.isoformat(timespec='seconds')} {event.action} {event.actor}"
            f"{' - ' + event.reason if event.reason else ''}",
            markup=False,
        )


@app.command("reset-password")
def reset_password(
    address: str = typer.Argument(...),
    reason: str | None = typer.Option(None, "--reason"),
    as_json: bool = JSON,
) -> None:
    """Cấp lại mật khẩu tạm / Reset to a temporary password that must be changed (R5.2)."""

    async def work():
        async with open_directory() as directory:
            return await directory.accounts.reset_password(address, actor=actor(), reason=reason)

    password = run(work)
    if as_json:
        print_json({"address": address, "temporary_password": password})
    else:
        out.print(
            f"Mật khẩu tạm (chỉ hiện một lần) / Temporary password (shown once): {password}", markup=False
        )


@app.command("change-password")
def change_password(address: str = typer.Argument(...)) -> None:
    """Chủ hộp thư đổi mật khẩu / The owner's change: old then new password on standard input (R5.3)."""
    lines = sys.stdin.read().splitlines()
    if len(lines) < 2:
        raise HopThuError(
            "Cần hai dòng trên đầu vào chuẩn: mật khẩu cũ rồi mật khẩu mới",
            "Two lines are needed on standard input: the old password, then the new one",
        )

    async def work():
        async with open_directory() as directory:
            await directory.accounts.change_password(address, lines[0], lines[1])

    run(work)
    out.print("Đã đổi mật khẩu / Password changed")


def _status_command(action: Action, verb_vi: str, verb_en: str):
    reasons = ", ".join(f"{r.value} ({r.vi})" for r in sorted(REASONS[action]))

    def command(
        address: str = typer.Argument(...),
        reason: str = typer.Option(..., "--reason", help=f"Lý do / reason: {reasons}"),
        ref: str | None = typer.Option(
            None, "--ref", help="Số văn bản, yêu cầu / document or request number"
        ),
        note: str | None = typer.Option(None, "--note", help="Ghi chú / note for the record"),
        as_json: bool = JSON,
    ) -> None:
        async def work():
            async with open_directory() as directory:
                updated = await directory.accounts.change_status(
                    address, action, reason=reason.strip().lower(), ref=ref, note=note, actor=actor()
                )
                return updated, directory.ctx.settings.server.domain

        updated, domain = run(work)
        if as_json:
            print_json(updated.as_json(domain))
        else:
            out.print(
                f"{updated.address(domain)}: {Status(updated.status).vi} ({updated.status})", markup=False
            )

    command.__doc__ = f"{verb_vi} / {verb_en} (R6)."
    return command


app.command("lock")(_status_command(Action.LOCK, "Tạm khóa", "Lock temporarily"))
app.command("restore")(_status_command(Action.RESTORE, "Khôi phục", "Restore"))
app.command("revoke")(_status_command(Action.REVOKE, "Thu hồi", "Revoke"))
app.command("delete")(_status_command(Action.DELETE, "Hủy bỏ", "Delete (data kept through retention)"))


@app.command("quota")
def set_quota(
    address: str = typer.Argument(...),
    size: str = typer.Argument(..., help="Ví dụ 5GB, 500MB, 12GiB"),
    reason: str | None = typer.Option(None, "--reason"),
    as_json: bool = JSON,
) -> None:
    """Đặt dung lượng hộp thư / Set a mailbox's quota within the bounds of R5.1."""

    async def work():
        async with open_directory() as directory:
            updated = await directory.accounts.set_quota(address, size, actor=actor(), reason=reason)
            return updated, directory.ctx.settings.server.domain

    updated, domain = run(work)
    if as_json:
        print_json(updated.as_json(domain))
    else:
        out.print(f"{updated.address(domain)}: {format_size(updated.quota_bytes)}", markup=False)


@app.command("export-data")
def export_data(
    address: str = typer.Argument(...),
    out_file: Path = typer.Option(..., "--out", help="Tệp .zip sẽ ghi / the .zip file to write"),
) -> None:
    """Xuất mọi dữ liệu cá nhân của một người / Export everything held about a person (R13.6):
    mail of every folder, the directory record, the audit entries."""
    from hopthu.privacy import archive

    if out_file.exists():
        fail(
            HopThuError(
                f"Tệp {out_file} đã có: hãy chọn tên khác", f"{out_file} exists already: choose another name"
            )
        )

    async def work() -> tuple[int, int]:
        async with open_directory() as directory:
            found = await directory.accounts.get(address)
            await directory.personal_data.exported(found, actor=actor(), channel="cli")
            with (
                counting_bar("Xuất thư / Exporting mail") as bar,
                out_file.open("xb") as handle,
            ):
                task = bar.add_task("", total=found.message_count)
                source = archive.Source(
                    found,
                    directory.ctx.store,
                    directory,
                    directory.ctx.now(),
                    progress=lambda n: bar.advance(task, n),
                )
                size = await archive.write(source, handle.write)
            return found.message_count, size

    try:
        messages, size = run(work)
    except typer.Exit:
        out_file.unlink(missing_ok=True)  # no half archive left behind
        raise
    out.print(f"{out_file}: {messages} thư / messages, {format_size(size)}", markup=False)


@app.command("erase")
def erase(
    address: str = typer.Argument(...),
    basis: str = typer.Option(..., "--basis", help="Căn cứ pháp lý của yêu cầu / the request's legal basis"),
    yes: bool = typer.Option(False, "--yes", help="Xác nhận: không thể hoàn tác / confirm: cannot be undone"),
    as_json: bool = JSON,
) -> None:
    """Xóa dữ liệu cá nhân theo yêu cầu hợp pháp / Erase a person's data on a lawful request (R13.6):
    mail, preferences, sessions, factors, delegations go; the account stays as a tombstone."""
    if not yes:
        fail(
            HopThuError(
                f"Xóa dữ liệu cá nhân của {address} không thể hoàn tác: chạy lại với --yes để xác nhận",
                f"Erasing the personal data of {address} cannot be undone: run again with --yes to confirm",
            )
        )

    async def work():
        async with open_directory() as directory:
            return await directory.personal_data.erase(address, basis=basis, actor=actor())

    erased = run(work)
    if as_json:
        print_json({"address": erased.local, "messages_removed": erased.messages, "status": "deleted"})
    else:
        out.print(
            f"Đã xóa dữ liệu cá nhân của {erased.local} ({erased.messages} thư) / "
            f"Erased the personal data of {erased.local} ({erased.messages} messages)",
            markup=False,
        )


@app.command("import-archive")
def import_archive(
    address: str = typer.Argument(...),
    file: Path = typer.Argument(..., help="Tệp .mbox, .eml hoặc .zip (Maildir, .mbox, .eml)"),
    folder: str | None = typer.Option(
        None, "--folder", help="Đưa mọi thư vào thư mục này / put all the mail into this folder"
    ),
    as_json: bool = JSON,
) -> None:
    """Nhập thư từ tệp lưu trữ / Import mail kept on a computer (.mbox, .eml, a .zip of a Maildir, of
    .mbox or of .eml files) into a mailbox, its folders kept unless --folder is given (R13.7)."""
    if not file.is_file():
        fail(HopThuError(f"Không có tệp {file}", f"No file {file}"))

    async def work():
        async with open_directory() as directory:
            found = await directory.accounts.get(address)
            await directory.personal_data.archive_imported(found, actor=actor(), file_name=file.name)
            sink = MailboxSink(directory.ctx.store, found.id)
            bounds = Bounds(message_max=directory.ctx.settings.smtp.max_message_size)
            with counting_bar("Nhập thư / Importing") as bar:
                task = bar.add_task("", total=None)

                def shown(done: Done) -> None:
                    bar.update(task, total=done.total, completed=done.done)

                result = await run_import(
                    sink, file, bounds=bounds, name=file.name, into=folder, progress=shown
                )
            return result

    result = run(work)
    if as_json:
        print_json(result.as_json() | {"imported": result.imported, "bytes": result.bytes})
    else:
        _print_import(result)
    if result.stopped is not None:
        raise typer.Exit(EXIT_ERROR)


def _print_import(result: ImportResult) -> None:
    table = Table("Thư mục / Folder", "Đã nhập / Imported", "Dung lượng / Size", "Bỏ qua / Left out")
    for name, tally in result.folders.items():
        table.add_row(name, str(tally.imported), format_size(tally.bytes), str(sum(tally.skipped.values())))
    out.print(table)
    for name, tally in result.folders.items():
        for code, count in tally.skipped.items():
            vi, en = reason_words(code)
            out.print(f"  {name}: {count} × {vi} / {en}", markup=False)
    out.print(
        f"Đã nhập / imported: {result.imported} thư / messages, {format_size(result.bytes)}; "
        f"bỏ qua / left out: {sum(result.skipped.values())}",
        markup=False,
    )
    if result.stopped is not None:
        err.print(f"{result.stopped.vi} / {result.stopped.en}", markup=False)
