"""What every command shares: the data folder, opening the store, printing, and errors.

Bad input anywhere ends in one line, Vietnamese then English, and a non-zero exit; an unexpected
failure prints an id and writes its traceback to `<data>/logs/cli-errors.log`, never to the screen.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import os
import secrets
import sys
import traceback
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from hopthu.config import CONFIG_FILE, Settings, load_settings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.security.private import tighten
from hopthu.security.secretbox import KEY_FILE
from hopthu.store import Store
from hopthu.store.db import Unreachable

T = TypeVar("T")
EXIT_ERROR = 1
EXIT_NEEDS_ADMINISTRATOR = 3

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class State:
    """The global options, set by the top-level callback."""

    data_dir: Path = Path(os.environ.get("HOPTHU_DATA", "data"))


def settings(require_init: bool = True) -> Settings:
    if require_init and not (State.data_dir / CONFIG_FILE).exists():
        raise HopThuError(
            f"Thư mục dữ liệu {State.data_dir} chưa được khởi tạo: hãy chạy 'hopthu init'",
            f"The data folder {State.data_dir} is not initialised: run 'hopthu init'",
            code="config",
        )
    loaded = load_settings(State.data_dir)
    if require_init:
        tighten(loaded.data_dir, private_paths(loaded))
    return loaded


def private_paths(config: Settings) -> list[Path]:
    """What an older data folder may hold readable by others: every entry at its top (a private
    folder hides all below it), the SQLite files and the keys wherever the configuration puts them."""
    data = config.data_dir
    found = list(data.iterdir()) if data.is_dir() else []
    keys = [config.path(KEY_FILE), config.path(config.smtp.dkim_key), config.path(config.server.tls_key)]
    sqlite = [data / f"hopthu.db{suffix}" for suffix in ("", "-wal", "-shm")]
    inside = [key for key in keys if key.resolve().is_relative_to(data.resolve())]  # never /etc/…
    return [*found, *sqlite, *inside, *(key.parent for key in inside)]


def actor() -> str:
    """Who is acting, for the audit log: the operator's login on this machine."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@asynccontextmanager
async def open_directory(config: Settings | None = None) -> AsyncIterator[Directory]:
    config = config or settings()
    store = await Store.open(config)
    try:
        yield Directory(DirectoryContext(store, config))
    finally:
        await store.close()


def run(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one command's async work, turning every failure into a one-line message."""
    try:
        return asyncio.run(work())
    except HopThuError as error:
        fail(error)
    except Unreachable as error:
        fail(
            HopThuError(
                f"Không kết nối được cơ sở dữ liệu: {error.orig}",
                f"Cannot reach the database: {error.orig}",
            )
        )
    except KeyboardInterrupt:
        err.print("Đã dừng / Interrupted")
        raise typer.Exit(130) from None
    except Exception:
        incident = secrets.token_hex(4)
        _log_incident(incident)
        err.print(
            f"Lỗi nội bộ (mã {incident}), chi tiết trong nhật ký / "
            f"Internal error (id {incident}), details in the log"
        )
        raise typer.Exit(EXIT_ERROR) from None


def report(error: HopThuError) -> None:
    err.print(f"Lỗi: {error.vi} / Error: {error.en}", markup=False, soft_wrap=True)


def fail(error: HopThuError, code: int = EXIT_ERROR) -> NoReturn:
    report(error)
    raise typer.Exit(code)


def _log_incident(incident: str) -> None:
    text = f"incident {incident}\n{traceback.format_exc()}\n"
    log_dir = State.data_dir / "logs"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "cli-errors.log").open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        logging.getLogger("hopthu.cli").error(text)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def counting_bar(label: str) -> Progress:
    """The progress bar of a long command over a counted list (its label in both languages): on
    standard error, gone when done, and off when that is not a terminal (a script, a pipe)."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not sys.stderr.isatty(),
    )
