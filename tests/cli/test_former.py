"""`hopthu former import|add|remove|list` (R13.7): a list previewed with --dry-run changes nothing,
then imported (new mailboxes by R4, old addresses recorded, bad rows named by line and a non-zero
exit); one old address added and removed; the list by agency; refusals in one line, both languages."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from hopthu.cli import app
from hopthu.cli.common import State
from hopthu.config import Settings, sample_config
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from tests.cli.test_roles import with_directory


@pytest.fixture
def cli(settings: Settings, monkeypatch) -> Iterator[Callable[..., Result]]:
    (settings.data_dir / "hopthu.toml").write_text(sample_config(settings), encoding="utf-8")
    monkeypatch.setattr(State, "data_dir", settings.data_dir)

    async def seed(directory: Directory) -> None:
        await directory.agencies.add("Sở Nội vụ", actor="test")
        await directory.agencies.add("Sở Y tế", actor="test")
        await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")

    with_directory(settings, seed)
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["--data", str(settings.data_dir), "former", *args])


def test_r13_7_import_dry_run_then_for_real(
    settings: Settings, cli: Callable[..., Result], tmp_path: Path
) -> None:
    listing = tmp_path / "ds.csv"
    listing.write_text(
        "Địa chỉ cũ,Họ,Tên đệm,Tên,Mã cơ quan,Cấp bậc\n"
        "nvminh@soctrang.gov.vn,Nguyễn,Văn,Minh,sonv,1\n"
        "nvminh@haugiang.gov.vn,Nguyễn,Văn,Minh,soyt,0\n"
        "nvminh@cantho.gov.vn,Nguyễn,Văn,Minh,sonv,0\n",
        encoding="utf-8",
    )
    preview = cli("import", str(listing), "--dry-run", "--json")
    assert preview.exit_code == 1  # a bad row: the operator must see it
    shown = json.loads(preview.stdout)
    assert shown["dry_run"] and shown["recorded"] == 2 and shown["failed"] == 1
    assert shown["rows"][2]["error"].startswith("Dòng 4: ") and "former province" in shown["rows"][2]["error"]
    assert json.loads(cli("list", "--json").stdout) == []  # a dry run changes nothing

    done = cli("import", str(listing))
    assert done.exit_code == 1 and "Đã ghi 2 địa chỉ cũ, cấp mới 2 hộp thư; lỗi 1 dòng" in done.stdout
    listed = json.loads(cli("list", "--json").stdout)
    assert {(f["former_address"], f["address"]) for f in listed} == {
        ("nvminh@soctrang.gov.vn", "nvminh1@cantho.gov.vn"),  # the higher rank, the lower number (R4.3b)
        ("nvminh@haugiang.gov.vn", "nvminh2@cantho.gov.vn"),
    }
    by_agency = json.loads(cli("list", "--agency", "soyt", "--json").stdout)
    assert [f["former_address"] for f in by_agency] == ["nvminh@haugiang.gov.vn"]
    again = cli("import", str(listing), "--json")
    assert json.loads(again.stdout)["recorded"] == 0  # each old address once


def test_r13_7_add_remove_and_refusals(settings: Settings, cli: Callable[..., Result]) -> None:
    added = cli("add", "minh.nv@soctrang.gov.vn", "nvminh")
    assert added.exit_code == 0 and "minh.nv@soctrang.gov.vn → nvminh@cantho.gov.vn" in added.stdout
    assert [f["former_address"] for f in json.loads(cli("list", "--json").stdout)] == [
        "minh.nv@soctrang.gov.vn"
    ]
    assert "Địa chỉ cũ" in cli("list").stdout
    refusals = {
        ("add", "minh.nv@soctrang.gov.vn", "nvminh"): "đã được ghi",
        ("add", "minh@gmail.com", "nvminh"): "không thuộc miền của tỉnh cũ",
        ("add", "x@haugiang.gov.vn", "khongco"): "Không có hộp thư",
        ("remove", "khongco@soctrang.gov.vn"): "Không có địa chỉ cũ",
        ("import", "/khong/co.xlsx"): "Không tìm thấy tệp",
    }
    for args, words in refusals.items():
        refused = cli(*args)
        assert refused.exit_code == 1 and words in refused.output and "Error:" in refused.output, args
        assert "Traceback" not in refused.output
    assert cli("remove", "MINH.NV@soctrang.gov.vn").exit_code == 0
    assert json.loads(cli("list", "--json").stdout) == []

    async def history(directory: Directory):
        return await directory.accounts.history("nvminh")

    acts = [e.action for e in with_directory(settings, history) if e.action.startswith("former_address.")]
    assert sorted(acts) == ["former_address.added", "former_address.removed"]
