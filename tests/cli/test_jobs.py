"""`hopthu jobs list|run` on the real command line: the jobs run against the real clock and their
runs are listed, on both backends."""

from __future__ import annotations

import datetime as dt
import json
import os

from hopthu.policy.dates import add_months
from tests.cli.conftest import Cli


def test_jobs_run_and_list(cli: Cli) -> None:
    cli.init()
    done = cli("jobs", "run", "all", "--json")
    assert done.code == 0, done.err
    jobs = ["passwords", "inactivity", "quota", "retention", "blobs", "statistics", "quarantine", "backup"]
    jobs += ["dmarc", "maillog", "alerts", "accesslog", "former"]
    assert [r["job"] for r in done.json()] == jobs
    assert all(r["status"] == "ok" for r in done.json())
    listed = cli("jobs", "list", "--json").json()
    assert listed["quota"][0]["summary"] == {"warned": 0} and listed["quota"][0]["node"] == "cli"
    unknown = cli("jobs", "run", "sao-luu")
    assert unknown.code == 1 and "Không có tác vụ 'sao-luu'" in unknown.err


def test_what_a_given_day_would_do_under_faketime(cli: Cli) -> None:
    """`hopthu jobs run` against the real clock: under libfaketime, the day a mailbox unused since
    its creation reaches 6 months, it is revoked (R6.5); the day before, it is only warned."""
    import shutil
    import subprocess
    import sys

    import pytest

    if shutil.which("faketime") is None:
        pytest.skip("Debian's faketime is not installed (.ci/run installs it)")
    cli.init()
    cli("agency", "add", "--name", "Sở Nội vụ")
    cli("account", "add", "--family", "Lê", "--given", "Na", "--agency", "sonv")
    created = cli("account", "show", "lna", "--json").json()["created_at"]

    def on(moment: dt.datetime) -> dict:
        command = ["jobs", "run", "inactivity", "--json"]
        done = subprocess.run(
            [
                "faketime",
                moment.strftime("%Y-%m-%d %H:%M:%S"),
                sys.executable,
                "-m",
                "hopthu",
                "--data",
                str(cli.data),
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "TZ": "UTC"},
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)[0]["summary"]

    due = add_months(dt.datetime.fromisoformat(created).astimezone(dt.UTC), 6)
    assert on(due - dt.timedelta(days=1)) == {"revoked": 0, "warned": 2}  # the 7-day warning, late but once
    assert on(due + dt.timedelta(minutes=1))["revoked"] == 2  # lna and the first administrator, never used
    assert cli("account", "show", "lna", "--json").json()["status"] == "revoked"
