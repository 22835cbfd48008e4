"""A real `hopthu serve` process for the hostile-input tests, on each backend in turn.

Each case in this folder attacks the running server as a client on 127.0.0.1 would and then checks
that an honest client still gets its answer: the bound holds and the city's mail keeps flowing.
`served` starts one process per test with free ports; `Served.account()` registers a person with a
password already changed, so sign-in works at once over every protocol.
"""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_serve import start as start_serve

PASSWORD = "Hop-Thu-2026"


@dataclass
class Served:
    """One running server: its command line, process, listener URLs and the people made for the test."""

    cli: Cli
    process: subprocess.Popen
    urls: dict[str, str]
    people: dict[str, str] = field(default_factory=dict)

    def port(self, role: str) -> int:
        return int(urlsplit(self.urls[role]).port or 0)

    @property
    def http(self) -> str:
        return self.urls["http"].rstrip("/")

    def account(self, given: str = "Minh", family: str = "Nguyễn", middle: str = "Văn") -> str:
        """A person at `sokhcn` whose password is `PASSWORD`; returns the local part of the address."""
        added = self.cli(
            "account",
            "add",
            "--family",
            family,
            "--middle",
            middle,
            "--given",
            given,
            "--agency",
            "sokhcn",
            "--json",
        )
        assert added.code == 0, added.err
        made = added.json()
        local = made["address"].split("@")[0]
        answers = f"{made['temporary_password']}\n{PASSWORD}\n"
        changed = self.cli("account", "change-password", local, stdin=answers)
        assert changed.code == 0, changed.err
        self.people[local] = PASSWORD
        return local

    def healthz(self) -> dict:
        with urllib.request.urlopen(self.http + "/healthz", timeout=10) as response:
            return json.loads(response.read())

    def alive(self) -> bool:
        """The process still runs and answers /healthz."""
        return self.process.poll() is None and self.healthz()["status"] in ("ok", "degraded")


def client_tls() -> ssl.SSLContext:
    """TLS for the self-signed development certificate `init` made."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@pytest.fixture
def serve_env() -> dict[str, str]:
    """Settings for the server under test (`HOPTHU_<SECTION>_<KEY>`); a test overrides this fixture."""
    return {}


@pytest.fixture
def start(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Served]]:
    """Starts `hopthu serve` with extra settings; every server started is stopped after the test."""
    running: list[Served] = []

    def launch(env: dict[str, str] | None = None) -> Served:
        cli = Cli(tmp_path / "data", database_url)
        if not (cli.data / "hopthu.toml").exists():
            cli.init()
        # The site is reached over plain http here, as in development: cookies keep their plain names
        # (an https `server.web_url` makes them `__Host-…; Secure`, which an http client never returns).
        # The new-place notice is off, as in the suite's settings (tests/conftest.py): a person
        # signing in by SMTP and then the webmail would find it in the mailbox a test counts.
        quiet = {"HOPTHU_POLICY_SIGNIN_NEW_PLACE_NOTICE": "false"}
        process, urls = start_serve(
            cli, env={"HOPTHU_SERVER_WEB_URL": "http://127.0.0.1", **quiet, **(env or {})}
        )
        served = Served(cli, process, urls)
        running.append(served)
        return served

    yield launch
    for served in running:
        if served.process.poll() is None:
            served.process.send_signal(signal.SIGTERM)
            try:
                served.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                served.process.kill()
        stderr = served.process.stderr.read() if served.process.stderr else ""
        assert "Traceback" not in stderr, stderr


@pytest.fixture
def served(start: Callable[..., Served], serve_env: dict[str, str]) -> Served:
    """`hopthu serve` running on free ports, stopped after the test."""
    return start(serve_env)
