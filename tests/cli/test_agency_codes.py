"""Addresses an operator types still follow R4 (R4.1, R4.2): a sub-unit's code is its own part joined
to its agency's, and a code that is taken is refused with the naming policy's proposals."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hopthu.cli.agency import app
from hopthu.cli.common import State
from hopthu.config import Settings, sample_config


@pytest.fixture
def cli(settings: Settings, monkeypatch) -> CliRunner:
    (settings.data_dir / "hopthu.toml").write_text(sample_config(settings), encoding="utf-8")
    monkeypatch.setattr(State, "data_dir", settings.data_dir)
    return CliRunner()


def test_typed_codes_follow_r4(cli: CliRunner) -> None:
    added = cli.invoke(app, ["add", "--name", "Sở Nội vụ", "--code", "sonv", "--json"])
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["address"] == "sonv@cantho.gov.vn"

    sub = cli.invoke(
        app,
        [
            "add",
            "--name",
            "Phòng Tổ chức",
            "--code",
            "tochuc",
            "--parent",
            "sonv",
            "--kind",
            "subunit",
            "--json",
        ],
    )
    assert sub.exit_code == 0, sub.output
    assert json.loads(sub.stdout)["address"] == "tochuc.sonv@cantho.gov.vn"  # R4.2
    already_joined = cli.invoke(
        app, ["add", "--name", "Văn phòng", "--code", "vanphong.sonv", "--parent", "sonv"]
    )
    assert already_joined.stdout.strip() == "Văn phòng: vanphong.sonv@cantho.gov.vn"

    taken = cli.invoke(app, ["add", "--name", "Sở Ngoại vụ", "--code", "sonv"])
    assert taken.exit_code != 0
    assert "đã được sử dụng" in taken.output and "Đề xuất: songoaivu" in taken.output  # R4.1
    again = cli.invoke(app, ["add", "--name", "Tổ chức cán bộ", "--code", "tochuc", "--parent", "sonv"])
    assert again.exit_code != 0 and "Proposed: tccb.sonv" in again.output
    listed = json.loads(cli.invoke(app, ["list", "--json"]).stdout)
    assert sorted(a["code"] for a in listed) == ["sonv", "tochuc.sonv", "vanphong.sonv"]
