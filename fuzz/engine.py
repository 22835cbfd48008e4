"""A small mutation fuzzer for the parsers that read what strangers send.

Why our own: the targets are pure functions of bytes (or sessions over an in-memory transport), so
a seeded mutator that knows the protocols' dangerous tokens finds more per second than a generic
engine, needs nothing installed, and replays any finding exactly (every choice comes from a seed).

A target is a `Target`: seeds, tokens, a `run(data)` that feeds one input, and the exception types
the code documents for bad input (those are the healthy answer; anything else is a crash). Each input
runs under a watchdog (`signal.setitimer` in the worker): an input that takes more CPU than the budget
is a hang. The parent also kills a worker that stops making progress (a hang inside C code the
signal cannot interrupt) and saves the input it was on, which the worker keeps in a shared buffer.
Crashes and hangs are saved under `fuzz/findings/<target>/` with the input and the traceback.
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing
import random
import re
import shutil
import signal
import struct
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FINDINGS = Path(__file__).resolve().parent / "findings"
MAX_INPUT = 256 * 1024  # mutated inputs are cut to this; the shared buffer holds this much
BUDGET = 1.0  # seconds of CPU one input may take before it is a hang
STALL = 20.0  # seconds without progress before the parent kills a worker (uninterruptible hang)
CHUNK = 5000  # inputs per worker job

# Bytes that change how the parsers read what follows: literals, quoting, comments, encoded words,
# line ends, boundaries, tags. Mutations insert these far more often than random bytes.
COMMON_TOKENS: tuple[bytes, ...] = (
    b"{", b"}", b"{0}\r\n", b"{0+}\r\n", b"{4294967296}\r\n", b"~{3}\r\n", b"\r\n", b"\r", b"\n", b"\0",
    b'"', b"\\", b"(", b")", b"<", b">", b"[", b"]", b"=?utf-8?b?", b"=?iso-8859-1?q?", b"?=", b"=",
    b";", b":", b",", b"@", b"*", b"%", b" ", b"\t", b"--", b"\xff", b"\xc3\xa9", b"\xe2\x80\xae",
    b"9" * 30, b"-1", b"0", b"4294967295", b"18446744073709551616",
)  # fmt: skip
_DIGITS = re.compile(rb"[0-9]+")


class Hang(BaseException):
    """Raised by the watchdog in the middle of an input that ran past its budget (BaseException so
    that a target's own `except Exception` cannot swallow it)."""


@dataclass
class Target:
    """One thing to fuzz."""

    name: str
    run: Callable[[bytes], object]
    seeds: Sequence[bytes]
    tokens: Sequence[bytes] = ()
    expected: tuple[type[BaseException], ...] = ()  # the documented answers to bad input
    max_len: int = 64 * 1024


@dataclass
class Finding:
    kind: str  # "crash" or "hang"
    target: str
    data: bytes
    detail: str  # the traceback, or where the hang was

    @property
    def signature(self) -> str:
        """Same exception at the same place: one finding, however many inputs reach it."""
        lines = [
            line
            for line in self.detail.strip().splitlines()
            if line.startswith("  File ") and "fuzz/engine.py" not in line and "/asyncio/" not in line
        ]
        last = lines[-1].strip() if lines else ""
        head = self.detail.strip().splitlines()[-1:] or [""]
        key = f"{self.kind}|{last}|{head[0].split(':')[0]}"
        return hashlib.sha1(key.encode()).hexdigest()[:12]


@dataclass
class Stats:
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    findings: list[Finding] = field(default_factory=list)  # one per signature

    def add(self, other: Stats) -> None:
        self.inputs += other.inputs
        self.crashes += other.crashes
        self.hangs += other.hangs
        known = {f.signature for f in self.findings}
        self.findings += [f for f in other.findings if f.signature not in known]


# --- mutation ----------------------------------------------------------------------------------------


class Mutator:
    """Seeded byte mutations: flips, token inserts, deletes, repeats, splices, number swaps."""

    def __init__(
        self, seeds: Sequence[bytes], tokens: Sequence[bytes], rng: random.Random, max_len: int
    ) -> None:
        self.seeds = [s for s in seeds] or [b""]
        self.tokens = list(tokens) + list(COMMON_TOKENS)
        self.rng = rng
        self.max_len = min(max_len, MAX_INPUT)
        self._ops = (
            self._flip, self._set_byte, self._insert_token, self._insert_token, self._insert_token,
            self._delete, self._repeat, self._splice, self._truncate, self._random_bytes, self._number,
            self._duplicate_token,
        )  # fmt: skip

    def __call__(self) -> bytes:
        data = bytearray(self.rng.choice(self.seeds))
        for _ in range(self.rng.choice((1, 1, 2, 3, 4, 8, 16))):
            self.rng.choice(self._ops)(data)
        return bytes(data[: self.max_len])

    def _pos(self, data: bytearray) -> int:
        return self.rng.randint(0, len(data))

    def _flip(self, data: bytearray) -> None:
        if data:
            i = self.rng.randrange(len(data))
            data[i] ^= 1 << self.rng.randrange(8)

    def _set_byte(self, data: bytearray) -> None:
        if data:
            data[self.rng.randrange(len(data))] = self.rng.choice(
                (0, 0x20, 0x7F, 0x80, 0xFF, self.rng.randrange(256))
            )

    def _insert_token(self, data: bytearray) -> None:
        i = self._pos(data)
        data[i:i] = self.rng.choice(self.tokens)

    def _duplicate_token(self, data: bytearray) -> None:
        # Long runs of one dangerous token: the shape of backtracking and quadratic inputs.
        i = self._pos(data)
        data[i:i] = self.rng.choice(self.tokens) * self._times()

    def _times(self) -> int:
        """How often to repeat: mostly a few times, sometimes thousands (the cost of big inputs)."""
        if self.rng.random() < 0.1:
            return self.rng.choice((300, 1000, 5000))
        return self.rng.choice((2, 3, 4, 8, 16, 30, 64))

    def _delete(self, data: bytearray) -> None:
        if data:
            i = self.rng.randrange(len(data))
            del data[i : i + self.rng.choice((1, 1, 2, 4, 16, 256))]

    def _repeat(self, data: bytearray) -> None:
        if data:
            i = self.rng.randrange(len(data))
            piece = data[i : i + self.rng.randint(1, 64)]
            data[i:i] = piece * self._times()

    def _splice(self, data: bytearray) -> None:
        other = self.rng.choice(self.seeds)
        if other:
            start = self.rng.randrange(len(other))
            piece = other[start : start + self.rng.randint(1, 512)]
            i = self._pos(data)
            data[i:i] = piece

    def _truncate(self, data: bytearray) -> None:
        if data:
            del data[self.rng.randrange(len(data)) :]

    def _random_bytes(self, data: bytearray) -> None:
        i = self._pos(data)
        data[i:i] = self.rng.randbytes(self.rng.randint(1, 16))

    def _number(self, data: bytearray) -> None:
        # A number in the input (the next one after a random place) made extreme.
        found = _DIGITS.search(data, self._pos(data)) or _DIGITS.search(data)
        if found:
            big = (b"0", b"4294967296", b"99999999999999999999", b"-1", b"65536", b"1" * 400)
            data[found.start() : found.end()] = self.rng.choice(big)


def splits(data: bytes, salt: int = 0) -> Iterator[bytes]:
    """`data` cut at points chosen from its own checksum: random-looking, yet the same on replay."""
    rng = random.Random(zlib.crc32(data) ^ salt)
    cuts = sorted(rng.randint(0, len(data)) for _ in range(rng.choice((0, 1, 2, 5, 16, 48))))
    start = 0
    for cut in [*cuts, len(data)]:
        yield data[start:cut]
        start = cut


# --- running -----------------------------------------------------------------------------------------


def _alarm(_signum: int, _frame: object) -> None:
    # Armed again in case the Hang is swallowed (raised inside a callback from C or Rust code,
    # which only prints "Exception ignored"): it fires until the input really stops.
    signal.setitimer(signal.ITIMER_PROF, 0.05)
    raise Hang()


def run_one(target: Target, data: bytes, budget: float = BUDGET) -> Finding | None:
    """One input under the watchdog: None when the target answered (or refused) it in time.

    The budget is CPU time of this process (ITIMER_PROF), not wall time: on a machine shared with
    other work a slow moment is not a hang, an input that makes the parser burn a second is. A
    hang is confirmed by running the input once more; a wait that burns no CPU is the parent's to
    catch (`run_parallel`'s stall).
    """
    first = _attempt(target, data, budget)
    if first is not None and first.kind == "hang":
        return _attempt(target, data, budget)
    return first


def _attempt(target: Target, data: bytes, budget: float) -> Finding | None:
    previous = signal.signal(signal.SIGPROF, _alarm)
    try:
        signal.setitimer(signal.ITIMER_PROF, budget)
        try:
            target.run(data)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
    except Hang:
        detail = f"over {budget} s of CPU; stopped at:\n{traceback.format_exc()}"
        return Finding("hang", target.name, data, detail)
    except target.expected:
        return None
    except Exception:  # the point of fuzzing: anything undocumented is a finding
        return Finding("crash", target.name, data, traceback.format_exc())
    finally:
        signal.signal(signal.SIGPROF, previous)
    return None


def fuzz(
    target: Target,
    count: int,
    seed: int,
    budget: float = BUDGET,
    with_seeds: bool = True,
    current: mmap.mmap | None = None,
    counters: Any = None,
    report: Callable[[Finding], None] | None = None,
) -> Stats:
    """`count` inputs in this process: the seeds as they are first (`with_seeds`), then mutations.

    For the parent's watchdog: `current` receives each input before it runs, `counters` [inputs,
    crashes, hangs] after, and `report` each new finding at once (a killed worker loses nothing).
    """
    stats = Stats()
    mutate = Mutator(target.seeds, target.tokens, random.Random(seed), target.max_len)
    seen: set[str] = set()
    for n in range(count):
        data = target.seeds[n] if with_seeds and n < len(target.seeds) else mutate()
        if current is not None:
            current[:4] = struct.pack("<I", len(data))
            current[4 : 4 + len(data)] = data
        found = run_one(target, data, budget)
        stats.inputs += 1
        if found is not None:
            if found.kind == "crash":
                stats.crashes += 1
            else:
                stats.hangs += 1
            if found.signature not in seen:
                seen.add(found.signature)
                stats.findings.append(found)
                if report is not None:
                    report(found)
        if counters is not None:
            counters[0], counters[1], counters[2] = stats.inputs, stats.crashes, stats.hangs
    return stats


def save(finding: Finding, folder: Path | None = None) -> Path:
    """The input as `<kind>-<signature>.bin` and what happened beside it as `.txt`, under `folder`
    (default FINDINGS)."""
    where = (folder or FINDINGS) / finding.target
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{finding.kind}-{finding.signature}.bin"
    path.write_bytes(finding.data)
    path.with_suffix(".txt").write_text(
        f"target: {finding.target}\nkind: {finding.kind}\ninput: {finding.data[:2000]!r}\n\n{finding.detail}"
    )
    return path


# --- the parallel run --------------------------------------------------------------------------------


def _worker(
    loader: Callable[[str], Target], job: _Job, budget: float, buffer_path: str, counters: Any, findings: Any
) -> None:
    target = loader(job.target)
    with open(buffer_path, "r+b") as handle:
        current = mmap.mmap(handle.fileno(), 4 + MAX_INPUT)
        fuzz(target, job.count, job.seed, budget, job.with_seeds, current, counters, findings.put)
    findings.put(None)  # done


@dataclass
class _Job:
    target: str
    count: int
    seed: int
    with_seeds: bool  # the first job of a target also runs its seeds as they are


@dataclass
class _Running:
    process: Any
    job: _Job
    counters: Any  # shared [inputs, crashes, hangs]
    findings: Any  # queue of Finding, then None
    buffer: Path
    found: list[Finding] = field(default_factory=list)
    last_count: int = -1
    last_change: float = field(default_factory=time.monotonic)
    finished: bool = False

    def drain(self) -> None:
        while not self.findings.empty():
            item = self.findings.get()
            if item is None:
                self.finished = True
            else:
                self.found.append(item)

    def stats(self, extra: Finding | None = None) -> Stats:
        inputs, crashes, hangs = self.counters[:]
        result = Stats(inputs, crashes, hangs)
        for finding in [*self.found, *([extra] if extra else [])]:
            result.add(Stats(findings=[finding]))
        if extra is not None:
            result.inputs += 1  # the input it was on
            result.crashes += extra.kind == "crash"
            result.hangs += extra.kind == "hang"
        return result


def run_parallel(
    loader: Callable[[str], Target],
    plan: dict[str, int],
    workers: int = 2,
    seed: int = 0,
    budget: float = BUDGET,
    stall: float = STALL,
    minutes: float | None = None,
    report: Callable[[str], None] | None = None,
) -> dict[str, Stats]:
    """Run `plan` ({target: inputs}) over `workers` processes; per-target stats, findings merged.

    The workers are forked, so `loader` (name → Target) must be importable state, not a closure
    over open resources. A worker that dies is a crash on the input it was on; one that makes no
    progress for `stall` seconds is killed, a hang on that input. The targets' jobs take turns, so
    that a run stopped by `minutes` (no job starts after that) has covered every target; `report`
    hears of progress about once a minute.
    """
    context = multiprocessing.get_context("fork")
    turns: list[tuple[int, int, _Job]] = []
    for order, (name, total) in enumerate(plan.items()):
        for number, start in enumerate(range(0, total, CHUNK)):
            job_seed = seed * 1_000_003 + number * 7919 + zlib.crc32(name.encode())
            turns.append(
                (number, order, _Job(name, min(CHUNK, total - start), job_seed, with_seeds=number == 0))
            )
    jobs = [job for _, _, job in sorted(turns, key=lambda t: t[:2])]
    stop_at = None if minutes is None else time.monotonic() + minutes * 60
    next_report = time.monotonic() + 60
    stats = {name: Stats() for name in plan}
    scratch = Path(tempfile.mkdtemp(prefix="hopthu-fuzz-"))
    running: list[_Running] = []
    try:
        while jobs or running:
            if stop_at is not None and time.monotonic() > stop_at and jobs:
                if report is not None:
                    report(f"time limit reached: {sum(j.count for j in jobs)} planned inputs not run")
                jobs.clear()
            if report is not None and time.monotonic() > next_report:
                next_report = time.monotonic() + 60
                done = sum(s.inputs for s in stats.values()) + sum(r.counters[0] for r in running)
                report(f"  … {done} inputs so far")
            while jobs and len(running) < workers:
                job = jobs.pop(0)
                buffer = scratch / f"{len(jobs)}-{job.target}.buf"
                buffer.write_bytes(b"\0" * (4 + MAX_INPUT))
                counters = context.Array("Q", 3, lock=False)
                findings = context.Queue()
                process = context.Process(
                    target=_worker, args=(loader, job, budget, str(buffer), counters, findings), daemon=True
                )
                process.start()
                running.append(_Running(process, job, counters, findings, buffer))
            time.sleep(0.05)
            for run in list(running):
                run.drain()
                if run.finished:
                    run.process.join()
                    part = run.stats()
                elif run.process.exitcode is not None:
                    run.drain()
                    if run.finished:
                        continue
                    # Died without finishing (a segfault, an abort in C): a crash on the input it was on.
                    died = Finding(
                        "crash",
                        run.job.target,
                        _read_buffer(run.buffer),
                        f"worker died ({run.process.exitcode})",
                    )
                    part = run.stats(died)
                else:
                    count = run.counters[0]
                    if count != run.last_count:
                        run.last_count, run.last_change = count, time.monotonic()
                        continue
                    if time.monotonic() - run.last_change < stall:
                        continue
                    run.process.kill()
                    run.process.join()
                    run.drain()
                    stuck = Finding(
                        "hang",
                        run.job.target,
                        _read_buffer(run.buffer),
                        f"no progress for {stall} s (killed)",
                    )
                    part = run.stats(stuck)
                stats[run.job.target].add(part)
                running.remove(run)
                run.buffer.unlink(missing_ok=True)
    finally:
        for run in running:
            run.process.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    return stats


def _read_buffer(path: Path) -> bytes:
    raw = path.read_bytes()
    (size,) = struct.unpack("<I", raw[:4])
    return raw[4 : 4 + size]
