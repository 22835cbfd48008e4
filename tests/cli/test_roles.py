"""`hopthu role grant|revoke|list` (R9, R10.4, R13.4): the operator gives an agency its mailbox-list
manager and withdraws the role; unknown mailboxes and agencies, a role held twice and the last
operator's withdrawal are one-line refusals in both languages; every act is in the audit log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
from click.testing import Result
from typer.testing import CliRunner

from hopthu.cli import app
from hopthu.cli.common import State
from hopthu.config import Settings, sample_config
from hopthu.directory.context import DirectoryContext
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.store import Store

T = TypeVar("T")


def with_directory(settings: Settings, work: Callable[[Directory], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await Store.open(settings)
        try:
            return await work(Directory(DirectoryContext(store, settings)))
        finally:
            await store.close()

    return asyncio.run(run())


@pytest.fixture
def cli(settings: Settings, monkeypatch) -> Iterator[Callable[..., Result]]:
    """`hopthu role …` through the command line's root (as registered), on a data folder with Sở Nội
    vụ, nvminh (the operator) and ttanh, and Sở Y tế."""
    (settings.data_dir / "hopthu.toml").write_text(sample_config(settings), encoding="utf-8")
    monkeypatch.setattr(State, "data_dir", settings.data_dir)

    async def seed(directory: Directory) -> None:
        await directory.agencies.add("Sở Nội vụ", actor="test")
        await directory.agencies.add("Sở Y tế", actor="test")
        rows = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Trần", "Thị", "Ánh", "sonv")]
        await directory.people.register(rows, actor="test")
        await directory.roles.grant("nvminh", "operator", actor="test")

    with_directory(settings, seed)
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["--data", str(settings.data_dir), "role", *args])


def test_an_agency_manager_granted_listed_and_withdrawn(
    settings: Settings, cli: Callable[..., Result]
) -> None:
    granted = cli("grant", "ttanh@cantho.gov.vn", "agency_manager", "--agency", "soyt")
    assert granted.exit_code == 0, granted.output
    listed = json.loads(cli("list", "--json").stdout)
    assert listed == [
        {
            "address": "nvminh@cantho.gov.vn",
            "name": "Nguyễn Văn Minh (Sở Nội vụ)",
            "role": "operator",
            "agency": None,
        },
        {
            "address": "ttanh@cantho.gov.vn",
            "name": "Trần Thị Ánh (Sở Nội vụ)",
            "role": "agency_manager",
            "agency": "soyt",
        },
    ]
    assert "Trần Thị Ánh" in cli("list").stdout

    refusals = {
        ("grant", "ttanh", "agency_manager", "--agency", "soyt"): "đã giữ vai trò",  # held already
        ("grant", "khongco", "helpdesk"): "Không có hộp thư",
        ("grant", "ttanh", "agency_manager", "--agency", "sokhongco"): "Không có cơ quan",
        ("grant", "ttanh", "agency_manager"): "cần gắn với một cơ quan",
        ("grant", "ttanh", "chief"): "Vai trò không hợp lệ",
        ("revoke", "ttanh", "helpdesk"): "không giữ vai trò",
        ("revoke", "nvminh", "operator"): "vận hành cuối cùng",  # the system keeps an operator
    }
    for args, words in refusals.items():
        refused = cli(*args)
        assert refused.exit_code == 1 and words in refused.output and "Error:" in refused.output, args
        assert "Traceback" not in refused.output

    withdrawn = cli("revoke", "ttanh", "agency_manager", "--agency", "soyt")
    assert withdrawn.exit_code == 0, withdrawn.output
    assert cli("grant", "ttanh", "operator").exit_code == 0
    assert cli("revoke", "nvminh", "operator").exit_code == 0  # another remains

    async def state(directory: Directory):
        return await directory.roles.grants(), await directory.accounts.history("ttanh")

    grants, history = with_directory(settings, state)
    assert [(g.local, g.role) for g in grants] == [("ttanh", "operator")]
    acts = [(e.action, e.details) for e in reversed(history) if e.action.startswith("role.")]
    assert acts == [
        ("role.granted", {"role": "agency_manager", "agency": "soyt"}),
        ("role.revoked", {"role": "agency_manager", "agency": "soyt"}),
        ("role.granted", {"role": "operator", "agency": None}),
    ]
    assert all(e.actor.startswith("cli") for e in history if e.action.startswith("role."))
