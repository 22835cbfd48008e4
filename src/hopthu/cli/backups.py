"""`hopthu backup DEST` and `hopthu restore SRC [--account ADDRESS]` (R9.2), with progress shown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn

from hopthu.backup.restore import restore_account, restore_installation
from hopthu.backup.sealed import read_key
from hopthu.backup.snapshot import backup as make_backup
from hopthu.backup.snapshot import backup_key
from hopthu.cli.common import State, err, open_directory, out, print_json, run, settings
from hopthu.config import load_settings


def backup(
    dest: Path = typer.Argument(..., help="Thư mục chứa các bản sao lưu / where backups go"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Sao lưu / Back up the database and mail while the server runs (blobs copied only when new)."""
    current = settings()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True, disable=as_json) as bar:
        task = bar.add_task("Đang sao lưu / Backing up…")

        def shown(copied: int, total: int) -> None:
            bar.update(task, description=f"Nội dung thư / bodies: {total:,} ({copied:,} mới / new)")

        made = run(lambda: make_backup(current, dest, now=dt.datetime.now(dt.UTC), progress=shown))
    if as_json:
        print_json(
            {
                "folder": str(made.folder),
                "backend": made.backend,
                "blobs_copied": made.blobs_copied,
                "blobs_total": made.blobs_total,
                "database_bytes": made.database_bytes,
                "encrypted": made.sealed,
            }
        )
    else:
        out.print(
            f"Đã sao lưu / Backed up: {made.folder} ({made.blobs_copied:,} nội dung mới / new bodies,"
            f" {made.blobs_total:,} tổng / in all)" + (", đã mã hóa / encrypted" if made.sealed else ""),
            markup=False,
        )
    if not made.sealed:
        err.print(
            "Cảnh báo: bản sao lưu KHÔNG được mã hóa; đặt backup.key_file để mã hóa (R13.5) / "
            "Warning: the backup is NOT encrypted; set backup.key_file to encrypt it (R13.5)",
            markup=False,
        )


def restore(
    source: Path = typer.Argument(..., help="Một bản sao lưu, hoặc thư mục chứa chúng (lấy bản mới nhất)"),
    account: str | None = typer.Option(
        None, "--account", help="Chỉ khôi phục hộp thư này vào hệ thống đang chạy"
    ),
    database_url: str = typer.Option(
        "", "--database-url", help="Cơ sở dữ liệu PostgreSQL trống (bản sao lưu PostgreSQL)"
    ),
    key_file: Path | None = typer.Option(
        None, "--key-file", help="Khóa của bản sao lưu mã hóa (mặc định backup.key_file) / backup key"
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Khôi phục / Rebuild the data folder (--data) from a backup, or bring back one mailbox."""
    if account:
        live = settings()
        key = read_key(key_file) if key_file else backup_key(live)

        async def one():
            async with open_directory(live) as directory:
                return await restore_account(
                    source, account, directory.ctx.store, directory.ctx.settings, key=key
                )

        done = run(one)
        if as_json:
            print_json({"backup": str(done.source), "messages": done.messages, "folders": done.folders})
        else:
            out.print(
                f"Đã khôi phục {done.messages:,} thư vào {done.folders} thư mục “Khôi phục …” của {account}"
                f" / {done.messages:,} messages restored into {done.folders} folders",
                markup=False,
            )
        return
    data = State.data_dir
    # The new folder has no configuration yet: the key comes from --key-file or HOPTHU_BACKUP_KEY_FILE.
    key = read_key(key_file) if key_file else backup_key(load_settings(data))
    done = run(lambda: restore_installation(source, data, database_url=database_url, key=key))
    if as_json:
        print_json(
            {
                "backup": str(done.source),
                "data_dir": str(data),
                "messages": done.messages,
                "blobs": done.bodies,
            }
        )
        return
    out.print(
        f"Đã khôi phục {data} từ {done.source}: {done.messages:,} thư / restored {done.messages:,} messages",
        markup=False,
    )
