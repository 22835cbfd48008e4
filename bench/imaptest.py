"""Dovecot's `imaptest` against a real `hopthu serve`: the stress rate and its errors, and the
scripted compliance groups.

`imaptest` is not part of this repository: build it as `docs/performance.md` ("IMAP strictness")
says and give its binary with `--imaptest`. Its compliance scripts are read from the `tests` folder
beside the binary (`src/tests` of its tree) unless `--tests` says where.

Setup: users `u1` … `uN` (N = `--users`, 100 by default) with one argon2id password (one hash
computed and given to all, so each user's first sign-in pays a full argon2id check, as Dovecot's 80
commands/s did), plain IMAP on 127.0.0.1 (the bench's settings allow LOGIN on loopback).

    python bench/imaptest.py --imaptest /path/to/imaptest/src/imaptest [--runs 3] [--secs 30]
                             [--clients 10] [--users 100] [--no-compliance] [--backend sqlite]

Prints, per stress run, the commands, commands/s and errors imaptest counted, the CPU the server's
event loop and the whole server spent per command (steadier than the rate, which this machine's
spread moves by a third) and imaptest's average milliseconds per kind of command; then the runs'
median and range; then the compliance groups passing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import fresh_pg, people_with_one_password, run_per_backend, serve

PASSWORD = "Hop-Thu-2026"
DOVECOT_ARGON2ID = 80  # commands/s, the reference run


def imaptest(binary: Path, port: int, *args: str, timeout: float) -> str:
    """imaptest's whole output (it writes its report to stdout and stderr)."""
    env = {**os.environ, "LD_LIBRARY_PATH": "/usr/lib/dovecot"}
    done = subprocess.run(
        [str(binary), "host=127.0.0.1", f"port={port}", f"pass={PASSWORD}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    return done.stdout + done.stderr


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU seconds of the server's main thread (its event loop, whose thread id is its pid) and of
    all its threads (the SQLite writer, argon2id, fsyncs)."""

    def seconds(stat: str) -> float:
        fields = Path(stat).read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return seconds(f"/proc/{pid}/task/{pid}/stat"), seconds(f"/proc/{pid}/stat")


def stress(binary: Path, port: int, args: argparse.Namespace) -> tuple[int, int, str]:
    """One stress run: (commands, errors, the average milliseconds of each kind of command)."""
    output = imaptest(
        binary,
        port,
        "user=u%d@cantho.gov.vn",
        f"users={args.users}",
        f"clients={args.clients}",
        f"secs={args.secs}",
        f"mbox={args.tests / 'default.mbox'}",
        timeout=args.secs + 120,
    )
    # After "Totals:": the commands' names, two lines of percentages, then one count per command.
    _, marker, totals = output.rpartition("\nTotals:\n")
    counts = [line for line in totals.splitlines() if re.fullmatch(r"[\d\s]+", line) and line.strip()]
    if not marker or not counts:
        tail = "\n".join(output.splitlines()[-15:])
        raise SystemExit(f"imaptest printed no totals:\n{tail}")
    commands = sum(int(n) for n in counts[0].split())
    errors = sum(1 for line in output.splitlines() if line.startswith("Error:"))
    names = next((line.split() for line in totals.splitlines() if re.fullmatch(r"[A-Za-z0-9 ]+", line)), [])
    averages = [line for line in output.splitlines() if line.endswith("ms/cmd avg")]
    latency = ""
    if averages and names:
        latency = " ".join(f"{n} {ms}" for n, ms in zip(names, averages[-1].split(), strict=False))
    return commands, errors, latency


def compliance(binary: Path, port: int, tests: Path) -> str:
    """The compliance scripts' closing summary ("n test groups: m failed, …")."""
    output = imaptest(
        binary,
        port,
        "user=u1@cantho.gov.vn",
        "user2=u2@cantho.gov.vn",
        f"test={tests}",
        timeout=600,
    )
    summary = [line for line in output.splitlines() if "test groups" in line or "commands:" in line]
    return "\n".join(summary) if summary else "\n".join(output.splitlines()[-10:])


async def run(backend: str, args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hopthu-imaptest-"))
    data = folder / "data"
    env = {**os.environ, "HOPTHU_IMAP_ALLOW_PLAIN_LOGIN_ON_LOOPBACK": "true"}
    process = None
    try:
        url = await fresh_pg("hopthu_bench_imaptest") if backend == "postgresql" else ""
        database = ["--database-url", url] if url else []
        subprocess.run(
            [sys.executable, "-m", "hopthu", "--data", str(data), "init", *database],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        await people_with_one_password(data, [f"u{n}" for n in range(1, args.users + 1)], PASSWORD)
        process, port = serve(data, env, "imap")
        rates: list[float] = []
        for number in range(1, args.runs + 1):
            started, (loop_before, all_before) = time.perf_counter(), cpu_seconds(process.pid)
            commands, errors, latency = stress(args.imaptest, port, args)
            loop_after, all_after = cpu_seconds(process.pid)
            loop_ms = (loop_after - loop_before) * 1000 / max(commands, 1)
            all_ms = (all_after - all_before) * 1000 / max(commands, 1)
            rate = commands / args.secs
            rates.append(rate)
            print(
                f"{backend} stress {number}/{args.runs}: {commands} commands in {args.secs} s, {rate:.0f}/s "
                f"({rate / DOVECOT_ARGON2ID:.1f}× Dovecot's {DOVECOT_ARGON2ID}), {errors} errors, "
                f"CPU a command: event loop {loop_ms:.2f} ms, whole server {all_ms:.2f} ms "
                f"[{time.perf_counter() - started:.0f} s]\n  ms per command, last second: {latency}",
                flush=True,
            )
        if rates:
            median = statistics.median(rates)
            print(
                f"{backend} stress: median {median:.0f} commands/s ({median / DOVECOT_ARGON2ID:.1f}×), "
                f"range {min(rates):.0f}–{max(rates):.0f} over {len(rates)} runs",
                flush=True,
            )
        if not args.no_compliance:
            print(f"{backend} compliance:\n{compliance(args.imaptest, port, args.tests)}", flush=True)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--imaptest", type=Path, required=True, help="the imaptest binary")
    parser.add_argument("--tests", type=Path, help="its compliance scripts (default: tests/ beside it)")
    parser.add_argument("--runs", type=int, default=3, help="stress runs, one after another")
    parser.add_argument("--secs", type=int, default=30, help="seconds of each stress run")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--no-compliance", action="store_true")


def main() -> None:
    if not any(a == "--backend" or a.startswith("--backend=") for a in sys.argv[1:]):
        sys.argv[1:1] = ["--backend", "sqlite"]

    def run_checked(backend: str, args: argparse.Namespace):  # type: ignore[no-untyped-def]
        args.tests = args.tests or args.imaptest.parent / "tests"
        return run(backend, args)

    run_per_backend(__doc__ or "", arguments, run_checked)


if __name__ == "__main__":
    main()
