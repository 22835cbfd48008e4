"""`hopthu serve --workers N`: N server processes sharing the listening sockets, on PostgreSQL.

The parent binds every listener once, then forks the workers; each runs the whole server (its own
event loop, database pool and caches) on the inherited sockets, and the kernel hands each new
connection to whichever worker accepts it first, so an idle worker takes the next one. This is the
model of several machines against one PostgreSQL, on one machine's cores: IMAP IDLE hears another
worker's deliveries through LISTEN/NOTIFY (`store.pgrelay`), the outbound queue's rows are leased
under `FOR UPDATE SKIP LOCKED` (`store.queue`), and the scheduled jobs run in the one worker holding
the leader's advisory lock (`jobs.scheduler`), so nothing is done twice. What each process counts in
memory is per worker, as it is per machine: sign-in throttling, connection limits and sending limits
(`smtp.limits`) apply per worker.

SQLite is refused: it has one writer at a time, and its group commit and write queue live inside one
process; several processes would wait on each other's locks at every delivery instead of sharing
commits, and be slower than one.

The workers start one after another (the first brings the schema up to date alone). SIGTERM or
SIGINT to the parent is passed to every worker, which stops as `hopthu serve` does, and the parent
waits for them (killing any still alive after the grace period and a margin). SIGHUP to the parent
is passed to every worker too, each of which reads the TLS certificate again (`security.tls`), so
`systemctl reload` after a renewal reaches every process. A worker that dies on its own is
replaced; one that fails while starting stops them all.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable

from hopthu.config import Settings
from hopthu.errors import HopThuError
from hopthu.store.db import backend_of

log = logging.getLogger("hopthu.workers")

START_SECONDS = 120.0  # a worker opens the store (and migrates it, the first) within this
STOP_MARGIN_SECONDS = 15.0  # beyond the shutdown grace, before the parent kills a worker
_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP}
WORKER_NUMBER = "HOPTHU_WORKER_NUMBER"  # each worker's number (0, 1, ...) in its environment

Ready = Callable[[dict[str, str]], None]
"""Called by a worker once it serves, with its listeners' URLs."""
RunWorker = Callable[[dict[str, socket.socket], Ready], None]
"""Runs one server on the given sockets until it is told to stop (blocking)."""


class WorkersNeedPostgreSQL(HopThuError):
    def __init__(self, count: int) -> None:
        super().__init__(
            f"--workers {count} chỉ dùng được với PostgreSQL. SQLite chỉ cho một tiến trình ghi tại một"
            " thời điểm: nhiều tiến trình sẽ phải chờ nhau ở mỗi lần giao thư thay vì ghi chung một lần,"
            " nên chậm hơn một tiến trình. Với SQLite hãy chạy một tiến trình (bỏ --workers).",
            f"--workers {count} needs PostgreSQL. SQLite lets one process write at a time: several"
            " processes would wait for each other at every delivery instead of sharing one commit, and"
            " be slower than one. With SQLite run one process (leave out --workers).",
            code="config",
        )


def check_workers(settings: Settings, count: int) -> None:
    """Refuse a worker count the database cannot serve."""
    if count < 1:
        raise HopThuError("--workers phải từ 1 trở lên", "--workers must be at least 1", code="config")
    if count > 1 and backend_of(settings.database_url) != "postgresql":
        raise WorkersNeedPostgreSQL(count)


def run_workers(
    settings: Settings,
    count: int,
    sockets: dict[str, socket.socket],
    run_worker: RunWorker,
    announce: Callable[[dict[str, str], list[int]], None],
) -> int:
    """Fork `count` workers serving `sockets`, tell `announce` their URLs and pids once all serve,
    and supervise them until SIGTERM or SIGINT; the exit status."""
    check_workers(settings, count)
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    workers: dict[int, int] = {}  # pid -> worker number
    try:
        urls: dict[str, str] = {}
        for number in range(count):
            pid, urls = _start(number, sockets, run_worker)
            workers[pid] = number
        announce(urls, sorted(workers))
        return _supervise(settings, workers, sockets, run_worker)
    except HopThuError:
        _stop(settings, workers)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def _start(
    number: int, sockets: dict[str, socket.socket], run_worker: RunWorker
) -> tuple[int, dict[str, str]]:
    """Fork worker `number` and wait until it serves; its pid and its listeners' URLs."""
    reading, writing = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker
        os.close(reading)
        code = 1
        try:
            _become_worker(parent)
            os.environ[WORKER_NUMBER] = str(number)  # its /metrics port: metrics.listen's plus this
            run_worker(sockets, lambda urls: _tell_ready(writing, urls))
            code = 0
        except BaseException:
            log.exception("worker %d failed", number)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(writing)
    try:
        message = _read_ready(reading)
    finally:
        os.close(reading)
    if message is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        raise HopThuError(
            f"Tiến trình phục vụ số {number} không khởi động được (xem nhật ký phía trên)",
            f"Worker {number} did not start (see the log above)",
            code="worker",
        )
    log.info("worker %d serving (pid %d)", number, pid)
    return pid, message


def _become_worker(parent: int) -> None:
    """Signals as a lone `hopthu serve` has them, and an end when the parent goes (Linux)."""
    for signum in _SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent went before prctl took effect
        os._exit(1)


def _tell_ready(fd: int, urls: dict[str, str]) -> None:
    os.write(fd, json.dumps(urls).encode() + b"\n")
    os.close(fd)


def _read_ready(fd: int) -> dict[str, str] | None:
    """The URLs a starting worker sends once it serves; None if it ended or took too long."""
    deadline = time.monotonic() + START_SECONDS
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return None
        data += chunk
    urls = json.loads(data)
    return {str(role): str(url) for role, url in urls.items()}


def _supervise(
    settings: Settings, workers: dict[int, int], sockets: dict[str, socket.socket], run_worker: RunWorker
) -> int:
    """Wait for a stop signal, replacing workers that die meanwhile and passing SIGHUP on to each;
    then stop them all."""
    while True:
        info = signal.sigwaitinfo(_SIGNALS)
        if info.si_signo == signal.SIGHUP:
            log.info("passing SIGHUP to %d workers", len(workers))
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGHUP)
            continue
        if info.si_signo != signal.SIGCHLD:
            log.info("stopping %d workers", len(workers))
            return _stop(settings, workers)
        for pid, status in _reap(workers):
            number = workers.pop(pid)
            log.warning("worker %d (pid %d) ended (%s); starting another", number, pid, _describe(status))
            time.sleep(1.0)  # a worker dying at once again does not spin the machine
            new_pid, _ = _start(number, sockets, run_worker)
            workers[new_pid] = number


def _reap(workers: dict[int, int]) -> list[tuple[int, int]]:
    """The workers that ended, with their wait status, without waiting for the others."""
    ended = []
    for pid in list(workers):
        with contextlib.suppress(ChildProcessError):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                ended.append((pid, status))
    return ended


def _stop(settings: Settings, workers: dict[int, int]) -> int:
    """SIGTERM to every worker, then wait; a worker still alive after the grace and a margin is
    killed. 0 when every worker stopped by itself."""
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + settings.server.shutdown_grace_seconds + STOP_MARGIN_SECONDS
    clean = True
    while workers:
        for pid, status in _reap(workers):
            number = workers.pop(pid)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0):
                clean = False
                log.warning("worker %d (pid %d) ended: %s", number, pid, _describe(status))
        if workers and time.monotonic() > deadline:
            for pid in workers:
                log.warning("worker %d (pid %d) did not stop in time; killed", workers[pid], pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            clean = False
            deadline = float("inf")
        if workers:
            time.sleep(0.05)
    return 0 if clean else 1


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit {os.waitstatus_to_exitcode(status)}"
