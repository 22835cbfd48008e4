"""Run the real `hopthu` command line in a subprocess, against a data folder on each backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@dataclass
class Cli:
    data: Path
    database_url: str

    def __call__(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "hopthu", "--data", str(self.data), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200", **(env or {})},
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Result(done.returncode, done.stdout, done.stderr)

    def init(self) -> Result:
        extra = () if self.database_url.startswith("sqlite") else ("--database-url", self.database_url)
        result = self("init", "--json", *extra)
        assert result.code == 0, result.err
        return result


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    return Cli(tmp_path / "data", database_url)
