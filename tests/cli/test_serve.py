"""`hopthu serve` as a process: listens, answers /healthz with the store's state, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

from tests.cli.conftest import Cli

PORTS = [
    *("--http-port", "0", "--smtp-port", "0", "--submission-port", "0", "--submissions-port", "0"),
    *("--imap-port", "0", "--imaps-port", "0", "--pop3-port", "0", "--pop3s-port", "0"),
]


def start(cli: Cli, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, dict[str, str]]:
    """`hopthu serve` on free ports; returns the process and the URL of each listener it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hopthu", "--data", str(cli.data), "serve", *PORTS, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    urls: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.match(r"(\w+): (\S+://\S+)", line)
        if found:
            urls[found.group(1)] = found.group(2)
        elif urls:
            return process, urls
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.stderr.read()}")
    process.kill()
    raise AssertionError("serve did not print its URLs")


def test_serve_answers_healthz_and_stops_cleanly_on_sigterm(cli: Cli) -> None:
    cli.init()
    process, urls = start(cli)
    assert set(urls) == {"http", "smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s"}
    try:
        with urllib.request.urlopen(urls["http"] + "healthz", timeout=10) as response:
            report = json.loads(response.read())
            assert response.status == 200
        assert report["status"] == "ok"
        assert report["store"]["database"]["status"] == "ok"
        assert report["store"]["database"]["backend"] == cli.database_url.split(":")[0].split("+")[0]
        assert report["store"]["blobs"]["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=20)
    assert code == 0
    assert "Traceback" not in process.stderr.read()


def test_port_in_use_is_a_clear_error(cli: Cli) -> None:
    cli.init()
    first, urls = start(cli)
    try:
        port = urls["http"].rsplit(":", 1)[1].strip("/")
        second = cli("serve", *PORTS[2:], "--http-port", port)
        assert second.code == 1 and port in second.err and "Lỗi" in second.err
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)


def test_serve_before_init_is_refused(cli: Cli) -> None:
    result = cli("serve")
    assert result.code == 1 and "hopthu init" in result.err
