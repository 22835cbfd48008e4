"""`hopthu account export-data|erase` and `hopthu breach record|list|close` (R13.6), through Typer's
runner in this process (the commands' own code, without an interpreter start per call), on both
backends."""

from __future__ import annotations

import datetime as dt
import json
import zipfile

import pytest
from typer.testing import CliRunner

from hopthu import cli as root
from hopthu.policy.dates import VIETNAM


def test_r13_6_export_erase_and_breaches_from_the_command_line(
    tmp_path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(root, "private_process", lambda: None)  # this process's umask stays as it is
    data = tmp_path / "data"

    def hopthu(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(root.app, ["--data", str(data), *args])
        assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
        return done.exit_code, done.output

    extra = () if database_url.startswith("sqlite") else ("--database-url", database_url)
    assert hopthu("init", "--json", *extra)[0] == 0
    assert hopthu("agency", "add", "--name", "Sở Nội vụ")[0] == 0
    assert hopthu("account", "add", "--family", "Lê", "--given", "Na", "--agency", "sonv")[0] == 0
    out = tmp_path / "lna.zip"
    code, said = hopthu("account", "export-data", "lna", "--out", str(out))
    assert code == 0, said
    assert {"ho-so.json", "nhat-ky-quan-tri.csv"} <= set(zipfile.ZipFile(out).namelist())
    code, said = hopthu("account", "erase", "lna", "--basis", "Đơn yêu cầu số 5")
    assert code == 1 and "--yes" in said
    code, said = hopthu("account", "erase", "lna", "--basis", "Đơn yêu cầu số 5", "--yes", "--json")
    assert code == 0 and json.loads(said)["status"] == "deleted", said
    code, said = hopthu("account", "show", "lna", "--json")
    assert "personal_data.erased" in [e["action"] for e in json.loads(said)["history"]]

    code, said = hopthu(
        "breach", "record", "--description", "Lộ danh bạ", "--discovered-at", "2026-01-05T08:00",
        "--account", "lna@cantho.gov.vn", "--json",
    )  # fmt: skip
    assert code == 0, said
    breach = json.loads(said)
    deadline = dt.datetime.fromisoformat(breach["deadline"])
    assert deadline == dt.datetime(2026, 1, 8, 8, 0, tzinfo=VIETNAM) and breach["overdue"]  # 72 h, past
    code, said = hopthu("breach", "close", str(breach["id"]), "--reported", "--json")
    assert code == 0 and json.loads(said)["reported_at"], said
    (listed,) = json.loads(hopthu("breach", "list", "--json")[1])
    assert listed["id"] == breach["id"] and not listed["overdue"]  # reported: no longer counting
