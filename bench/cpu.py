"""Where a load's CPU went, by process, from Linux's /proc: the server (the process and its workers),
this bench's own client, PostgreSQL's processes, and the rest of the machine (the kernel's network
and disk work, anything else running). Divided by the work done, it is the CPU a unit of work costs;
the machine's cores divided by it is the most that work could reach on this machine if nothing ever
waited, which says whether a goal is a matter of waiting or of CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _process_seconds(pid: int) -> tuple[float, int, str]:
    """CPU seconds (user and system, threads included), parent pid and name of one process."""
    text = (_PROC / str(pid) / "stat").read_text()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[1]), name


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent on anything but idling and waiting for the disk."""
    with open(_PROC / "stat") as handle:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (
            int(value) for value in handle.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / _TICK


@dataclass
class Usage:
    server: float = 0.0
    client: float = 0.0
    postgres: float = 0.0
    machine: float = 0.0

    @property
    def other(self) -> float:
        return max(0.0, self.machine - self.server - self.client - self.postgres)

    def per_unit(self, units: int, unit: str) -> str:
        """The CPU of each part per unit of work, and the ceiling all of it sets on the cores."""
        ms = 1000 / max(units, 1)
        ceiling = (os.cpu_count() or 1) * units / self.machine if self.machine else 0.0
        return (
            f"CPU per {unit}: server {self.server * ms:.2f} ms, client {self.client * ms:.2f} ms, "
            f"PostgreSQL {self.postgres * ms:.2f} ms, kernel and the rest {self.other * ms:.2f} ms; "
            f"all {self.machine * ms:.2f} ms, so {os.cpu_count()} cores allow at most "
            f"{ceiling:.0f} {unit}s/s"
        )


class CpuMeter:
    """CPU used between `start` and `stop` by the server `server_pid` (and its children), by this
    process, by PostgreSQL and by the whole machine. Processes that start or end in between count
    for what /proc shows of them at the two moments (PostgreSQL backends live as long as the pool)."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self._start: tuple[dict[int, tuple[float, str]], float, float] | None = None

    def _processes(self) -> dict[int, tuple[float, str]]:
        found: dict[int, tuple[float, str]] = {}
        parents: dict[int, int] = {}
        for entry in _PROC.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                seconds, parent, name = _process_seconds(int(entry.name))
            except (OSError, ValueError):
                continue  # gone meanwhile
            parents[int(entry.name)] = parent
            found[int(entry.name)] = (seconds, name)
        server = {self.server_pid} | {pid for pid, parent in parents.items() if parent == self.server_pid}
        return {
            pid: (seconds, "server" if pid in server else "postgres" if name == "postgres" else "other")
            for pid, (seconds, name) in found.items()
        }

    def start(self) -> None:
        times = os.times()
        self._start = (self._processes(), times.user + times.system, _machine_busy())

    def stop(self) -> Usage:
        assert self._start is not None, "start first"
        before, client_before, machine_before = self._start
        usage = Usage()
        for pid, (seconds, kind) in self._processes().items():
            used = seconds - (before[pid][0] if pid in before else 0.0)
            if kind == "server":
                usage.server += used
            elif kind == "postgres":
                usage.postgres += used
        times = os.times()
        usage.client = times.user + times.system - client_before
        usage.machine = _machine_busy() - machine_before
        return usage
