"""The operators' command line (`hopthu …`), Typer commands over the directory and the store."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer

from hopthu.cli.common import EXIT_ERROR, State, report
from hopthu.errors import HopThuError
from hopthu.security.private import private_process

# Each command and group, by the module that holds it: a command line imports only the one it
# runs. Every module together costs the interpreter about a second before anything is done; one
# operator's `hopthu account add` needs a fraction of it.
COMMANDS = {  # name -> (module, function)
    "init": ("init", "init"),
    "serve": ("serve", "serve"),
    "report": ("reports", "report"),
    "backup": ("backups", "backup"),
    "restore": ("backups", "restore"),
    "migrate": ("migrate", "migrate"),
}
GROUPS = {  # name -> module whose `app` holds the group's commands
    "agency": "agency",
    "account": "account",
    "dkim": "dkim",
    "dns": "dns",
    "queue": "queue",
    "api-token": "apitoken",
    "jobs": "jobs",
    "breach": "breach",
    "role": "role",
    "former": "former",
}


def _options(
    data: Path = typer.Option(
        Path("data"), "--data", envvar="HOPTHU_DATA", help="Thư mục dữ liệu / data folder"
    ),
) -> None:
    private_process()  # before anything is written: mail, keys and backups are the owner's alone
    State.data_dir = data


def build(names: Sequence[str] | None = None) -> typer.Typer:
    """The command line with the commands and groups `names` (every one for None), in their order."""
    built = typer.Typer(
        name="hopthu",
        help="Hộp Thư: hệ thống thư điện tử / the city's e-mail system",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    built.callback()(_options)
    for name, (module, function) in COMMANDS.items():
        if names is None or name in names:
            built.command(name)(getattr(importlib.import_module(f"hopthu.cli.{module}"), function))
    for name, module in GROUPS.items():
        if names is None or name in names:
            built.add_typer(importlib.import_module(f"hopthu.cli.{module}").app, name=name)
    return built


def named_command(argv: Sequence[str]) -> str | None:
    """The command a command line names, if it is one of ours: None for help or anything unknown,
    which then sees every command."""
    words = iter(argv)
    for word in words:
        if word == "--data":
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS or word in GROUPS else None
    return None


def __getattr__(name: str) -> Any:
    """`app`, the whole command line, built on first use (by `hopthu.cli import app` in tests)."""
    if name == "app":
        globals()["app"] = whole = build()
        return whole
    raise AttributeError(name)


def main() -> None:
    command = named_command(sys.argv[1:])
    try:
        build(None if command is None else [command])()
    except HopThuError as error:
        report(error)
        sys.exit(EXIT_ERROR)
