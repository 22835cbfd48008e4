"""Whether spam scoring and malware scanning are on, off or failing, for /healthz and the portal.

The engines are watched where they are called: each answer marks the engine working, each failure
(an `EngineError`, or the inspector's timeout cancelling the call) marks it failing with the time
and the reason. An engine is "failing" while its last call failed; the next answer clears it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hopthu.protection.engines import EngineError, ScanEnvelope, SpamAnswer, SpamEngine, VirusEngine


@dataclass
class Watch:
    """One engine's recent history, in wall-clock seconds."""

    engine: str  # "rspamd" | "clamd"
    configured: bool
    last_ok: float | None = None
    last_failure: float | None = None
    detail: str = ""

    @property
    def state(self) -> str:
        if not self.configured:
            return "off"
        if self.last_failure is not None and (self.last_ok is None or self.last_failure > self.last_ok):
            return "failing"
        return "on"

    def report(self) -> dict[str, Any]:
        report: dict[str, Any] = {"engine": self.engine, "status": self.state}
        if self.last_failure is not None:
            report["last_failure"] = _iso(self.last_failure)
            report["error"] = self.detail
        if self.last_ok is not None:
            report["last_ok"] = _iso(self.last_ok)
        return report


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="seconds")


def _reason(error: BaseException) -> str:
    if isinstance(error, asyncio.CancelledError | TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__


class WatchedSpam:
    """A `SpamEngine` whose checks are recorded in `watch` (learning is not: it is on the side)."""

    def __init__(self, inner: SpamEngine, watch: Watch, clock: Callable[[], float] = time.time) -> None:
        self.inner = inner
        self.watch = watch
        self.clock = clock

    async def check(self, message: bytes, envelope: ScanEnvelope) -> SpamAnswer:
        try:
            answer = await self.inner.check(message, envelope)
        except (EngineError, asyncio.CancelledError, TimeoutError) as error:
            self.watch.last_failure, self.watch.detail = self.clock(), _reason(error)
            raise
        self.watch.last_ok = self.clock()
        return answer

    async def learn(self, message: bytes, *, spam: bool) -> None:
        await self.inner.learn(message, spam=spam)


class WatchedVirus:
    def __init__(self, inner: VirusEngine, watch: Watch, clock: Callable[[], float] = time.time) -> None:
        self.inner = inner
        self.watch = watch
        self.clock = clock

    async def scan(self, message: bytes) -> str | None:
        try:
            found = await self.inner.scan(message)
        except (EngineError, asyncio.CancelledError, TimeoutError) as error:
            self.watch.last_failure, self.watch.detail = self.clock(), _reason(error)
            raise
        self.watch.last_ok = self.clock()
        return found


@dataclass
class EngineStatus:
    """Both watches, as the server keeps them."""

    scoring: Watch
    scanning: Watch

    def report(self) -> dict[str, Any]:
        return {"scoring": self.scoring.report(), "scanning": self.scanning.report()}

    @property
    def failing(self) -> bool:
        return "failing" in (self.scoring.state, self.scanning.state)
