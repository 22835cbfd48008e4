"""`hopthu jobs list|run` on the real command line: the jobs run against the real clock and their
runs are listed, on both backends."""

from __future__ import annotations

from tests.cli.conftest import Cli


def test_jobs_run_and_list(cli: Cli) -> None:
    cli.init()
    done = cli("jobs", "run", "all", "--json")
    assert done.code == 0, done.err
    assert [r["job"] for r in done.json()] == [
        "passwords",
        "inactivity",
        "quota",
        "retention",
        "blobs",
        "backup",
    ]
    assert all(r["status"] == "ok" for r in done.json())
    listed = cli("jobs", "list", "--json").json()
    assert listed["quota"][0]["summary"] == {"warned": 0} and listed["quota"][0]["node"] == "cli"
    unknown = cli("jobs", "run", "sao-luu")
    assert unknown.code == 1 and "Không có tác vụ 'sao-luu'" in unknown.err
