"""Real rspamd and clamd for the protection tests, one pair per pytest-xdist worker.

`engines` (session) starts both on free ports with the project's own configuration: rspamd from
Debian's main config with `deploy/rspamd/` as LOCAL_CONFDIR plus the test-only pieces written here
(resolver pointed at a closed local port so no DNS leaves the machine, network modules off, Bayes
learning from two messages, a marker phrase with a fixed score), and clamd from
`deploy/clamav/clamd.conf.in` with a signature database written here (EICAR and made-up markers;
no freshclam, nothing from the update servers). Redis is the machine's 127.0.0.1:6379, a database
number of the worker's own.

`engines.env()` gives the `HOPTHU_PROTECTION_*` settings for `hopthu serve`; `RspamdProcess` lets a
test run (and stop, and start again) an rspamd of its own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile.conftest import start  # noqa: F401  (the fixture that runs `hopthu serve`)

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "rspamd-test-secret"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MALWARE_MARKER = b"HOPTHU-TEST-MALWARE-7d1f0c"  # a made-up signature clamd knows as HopThu.Test.Marker
# rspamd's own GTUBE pattern (its action is reject at the reject score).
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
# A phrase the test configuration scores at exactly JUNK_MARKER_SCORE.
JUNK_MARKER = "HOPTHU-TEST-JUNK-MARKER-3b9e"
JUNK_MARKER_SCORE = 50.0
CLAMD_STREAM_MAX = 2 * 1024 * 1024

# Modules that would ask the internet (DNS lists, fuzzy servers, maps from rspamd.com) or keep state
# in Redis that makes one test's answer depend on another's (greylisting, rate limits, reputation).
OFF_MODULES = (
    "asn",
    "dcc",
    "dkim",
    "dmarc",
    "emails",
    "fuzzy_check",
    "greylist",
    "hfilter",
    "history_redis",
    "mx_check",
    "neural",
    "phishing",
    "ratelimit",
    "rbl",
    "replies",
    "reputation",
    "rspamd_update",
    "spf",
    "url_redirector",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in worker if ch.isdigit())
    return int(digits or 0)


def rspamd_confdir(target: Path, redis_db: int) -> Path:
    """deploy/rspamd plus the test-only configuration."""
    shutil.copytree(ROOT / "deploy" / "rspamd", target)
    local, override = target / "local.d", target / "override.d"
    (local / "options.inc").write_text(
        "# No DNS leaves the machine: a closed local port answers nothing at once.\n"
        'dns { nameserver = ["127.0.0.1:9"]; timeout = 0.2s; retransmits = 1; }\n'
        "task_timeout = 20s;\n"
    )
    # The compiled Hyperscan cache is shared by the worker's instances: only the first compiles.
    (override / "options.inc").write_text('hs_cache_dir = "${HOPTHU_HS_CACHE}/";\n')
    for module in OFF_MODULES:
        (local / f"{module}.conf").write_text("enabled = false;\n")
    (override / "worker-normal.inc").write_text(
        'bind_socket = "127.0.0.1:${HOPTHU_NORMAL_PORT}";\ncount = 1;\n'
    )
    (override / "worker-controller.inc").write_text(
        'bind_socket = "127.0.0.1:${HOPTHU_CONTROLLER_PORT}";\ncount = 1;\n'
        f'password = "{PASSWORD}";\nenable_password = "{PASSWORD}";\nsecure_ip = [];\n'
    )
    with (local / "redis.conf").open("a") as redis:
        redis.write(f'db = "{redis_db}";\n')
    # Bayes answers after one learn of each class and counts a word seen once; Debian's learn
    # condition (which refuses short or already-scored messages) is replaced so a test message of a
    # few words is learned.
    (override / "classifier-bayes.conf").write_text(
        "min_learns = 1;\nmin_tokens = 3;\nmin_token_hits = 1;\nautolearn = false;\n"
        "learn_condition = 'return function(task, is_spam, is_unlearn) return true end';\n"
    )
    with (local / "regexp.conf").open("a") as regexp:
        regexp.write(
            f"\nHOPTHU_TEST_JUNK_MARKER {{\n  re = '/{JUNK_MARKER}/{{sa_body}}';\n"
            f'  score = {JUNK_MARKER_SCORE};\n  description = "test marker";\n  one_shot = true;\n}}\n'
        )
    return target


class RspamdProcess:
    """One rspamd (normal and controller workers) on free ports, started and stopped at will."""

    def __init__(self, confdir: Path, workdir: Path, hs_cache: Path) -> None:
        self.confdir = confdir
        self.workdir = workdir
        self.hs_cache = hs_cache
        self.normal_port = free_port()
        self.controller_port = free_port()
        self.process: subprocess.Popen | None = None
        for sub in ("run", "db", "log"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.normal_port}"

    @property
    def controller_url(self) -> str:
        return f"http://127.0.0.1:{self.controller_port}"

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        db = self.workdir / "db"
        self.hs_cache.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "rspamd",
                "-f",
                "-i",
                "-u",
                "root",
                "-g",
                "root",
                "-c",
                "/etc/rspamd/rspamd.conf",
                "--var",
                f"LOCAL_CONFDIR={self.confdir}",
                "--var",
                f"RUNDIR={self.workdir / 'run'}",
                "--var",
                f"DBDIR={db}",
                "--var",
                f"LOGDIR={self.workdir / 'log'}",
                "--var",
                f"HOPTHU_HS_CACHE={self.hs_cache}",
                "--var",
                f"HOPTHU_NORMAL_PORT={self.normal_port}",
                "--var",
                f"HOPTHU_CONTROLLER_PORT={self.controller_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.workdir,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"rspamd exited: {self.process.stderr.read().decode()[-2000:]}")
            if _pong(self.url + "/ping") and _pong(self.controller_url + "/ping"):
                return
            time.sleep(0.2)
        self.stop()
        raise AssertionError("rspamd did not start")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        # The workers go with the main process; wait until the port is free again.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _pong(self.url + "/ping"):
            time.sleep(0.1)


def _pong(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class ClamdProcess:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.socket = str(workdir / "clamd.sock")
        database = workdir / "db"
        database.mkdir(parents=True, exist_ok=True)
        (database / "hopthu-test.ndb").write_text(
            f"HopThu.Test.EICAR:0:*:{EICAR.hex()}\nHopThu.Test.Marker:0:*:{MALWARE_MARKER.hex()}\n"
        )
        template = (ROOT / "deploy" / "clamav" / "clamd.conf.in").read_text()
        places = {
            "LOGFILE": str(workdir / "clamd.log"),
            "PIDFILE": str(workdir / "clamd.pid"),
            "DATABASE": str(database),
            "SOCKET": self.socket,
            "PORT": str(self.port),
            "STREAM_MAX": str(CLAMD_STREAM_MAX),
        }
        for name, value in places.items():
            template = template.replace(f"@{name}@", value)
        self.config = workdir / "clamd.conf"
        self.config.write_text(template)
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["clamd", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"clamd exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as probe:
                    probe.sendall(b"zPING\0")
                    if probe.recv(16).startswith(b"PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError("clamd did not start")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Engines:
    """The worker's running rspamd and clamd, and how to make more rspamd of the same kind."""

    rspamd: RspamdProcess
    clamd: ClamdProcess
    confdir: Path
    root: Path
    password: str = PASSWORD
    redis_db: int = 0

    @property
    def rspamd_url(self) -> str:
        return self.rspamd.url

    @property
    def controller_url(self) -> str:
        return self.rspamd.controller_url

    @property
    def clamd_address(self) -> str:
        return self.clamd.address

    @property
    def clamd_socket(self) -> str:
        return self.clamd.socket

    def env(self, rspamd: RspamdProcess | None = None, **settings: str) -> dict[str, str]:
        """`HOPTHU_PROTECTION_*` for `hopthu serve` using these engines (or another rspamd);
        `settings` adds or replaces keys, e.g. `on_failure="accept"`."""
        spam = rspamd or self.rspamd
        env = {
            "HOPTHU_PROTECTION_RSPAMD_URL": spam.url,
            "HOPTHU_PROTECTION_RSPAMD_CONTROLLER_URL": spam.controller_url,
            "HOPTHU_PROTECTION_RSPAMD_PASSWORD": self.password,
            "HOPTHU_PROTECTION_CLAMD": self.clamd.address,
            "HOPTHU_PROTECTION_SCAN_TIMEOUT_SECONDS": "20",
            "HOPTHU_PROTECTION_DNSBL_ZONES": "",
        }
        env.update({f"HOPTHU_PROTECTION_{key.upper()}": value for key, value in settings.items()})
        return env

    def forget_learning(self) -> None:
        """Empty the worker's Redis database, Bayes statistics and all: a test that shows learning
        starts from nothing the worker's earlier tests (or earlier runs) taught. The worker runs one
        test at a time and no other worker uses this database."""
        with socket.create_connection(("127.0.0.1", 6379), timeout=10) as redis:
            redis.sendall(f"SELECT {self.redis_db}\r\nFLUSHDB\r\n".encode())
            answer = b""
            while answer.count(b"\r\n") < 2:
                piece = redis.recv(256)
                assert piece, answer
                answer += piece
        assert answer == b"+OK\r\n+OK\r\n", answer

    def new_rspamd(self, name: str) -> RspamdProcess:
        """Another rspamd with the same configuration (and Redis), not yet started."""
        return RspamdProcess(self.confdir, self.root / name, self.root / "hs")


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    if shutil.which("rspamd") is None or shutil.which("clamd") is None:
        pytest.fail("rspamd and clamd must be installed (apt-get install rspamd clamav-daemon)")
    root = tmp_path_factory.mktemp("engines")
    redis_db = 1 + worker_index() % 15
    confdir = rspamd_confdir(root / "rspamd-conf", redis_db=redis_db)
    rspamd = RspamdProcess(confdir, root / "rspamd", root / "hs")
    clamd = ClamdProcess(root / "clamd")
    clamd.start()
    try:
        rspamd.start()
    except BaseException:
        clamd.stop()
        raise
    try:
        yield Engines(rspamd, clamd, confdir, root, redis_db=redis_db)
    finally:
        rspamd.stop()
        clamd.stop()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: these tests are about the engines, which see the same messages on either backend
    (tests/smtp covers the pipeline on both)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hopthu.db'}"


@pytest.fixture
def dns_env(tmp_path: Path) -> dict[str, str]:
    """DNS from a file for `hopthu serve`: example.org publishes SPF for 127.0.0.1 and no DMARC."""
    dns = tmp_path / "dns.toml"
    dns.write_text('[txt]\n"example.org" = ["v=spf1 ip4:127.0.0.1 -all"]\n')
    return {"HOPTHU_SMTP_DNS_FILE": str(dns)}
