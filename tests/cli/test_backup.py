"""`hopthu backup` and `hopthu restore` on the real command line, both backends."""

from __future__ import annotations

import os

from tests.cli.conftest import Cli
from tests.conftest import PG_SERVER


def test_backup_then_restore_into_a_new_folder(cli: Cli, tmp_path) -> None:
    import asyncio

    from tests.conftest import _admin

    cli.init()
    cli("agency", "add", "--name", "Sở Nội vụ")
    dest = tmp_path / "sao-luu"
    made = cli("backup", str(dest), "--json")
    assert made.code == 0, made.err
    assert made.json()["folder"].startswith(str(dest))
    target = ""
    if not cli.database_url.startswith("sqlite"):
        name = f"hopthu_test_cli_restore_{os.getpid()}"
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
        target = f"{PG_SERVER}/{name}"
    restored = Cli(tmp_path / "khoi-phuc", target or cli.database_url)
    extra = ("--database-url", target) if target else ()
    done = restored("restore", str(dest), *extra, "--json")
    assert done.code == 0, done.err
    listed = restored("agency", "list", "--json").json()
    assert {a["code"] for a in listed} == {"sokhcn", "sonv"}
    assert (tmp_path / "khoi-phuc" / "keys" / "secret.key").read_bytes() == (
        cli.data / "keys" / "secret.key"
    ).read_bytes()
    again = restored("restore", str(dest), *extra)
    assert again.code == 1 and "không trống" in again.err
