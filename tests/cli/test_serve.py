"""`hopthu serve` as a process: listens, answers /healthz with the store's state, stops on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

from tests.cli.conftest import Cli


def start(cli: Cli, *args: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hopthu", "--data", str(cli.data), "serve", "--http-port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        found = re.search(r"http: (http://\S+)", line)
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            raise AssertionError(f"serve exited: {process.stderr.read()}")
    process.kill()
    raise AssertionError("serve did not print its URL")


def test_serve_answers_healthz_and_stops_cleanly_on_sigterm(cli: Cli) -> None:
    cli.init()
    process, url = start(cli)
    try:
        with urllib.request.urlopen(url + "healthz", timeout=10) as response:
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
    first, url = start(cli)
    try:
        port = url.rsplit(":", 1)[1].strip("/")
        second = cli("serve", "--http-port", port)
        assert second.code == 1 and port in second.err and "Lỗi" in second.err
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)


def test_serve_before_init_is_refused(cli: Cli) -> None:
    result = cli("serve")
    assert result.code == 1 and "hopthu init" in result.err
