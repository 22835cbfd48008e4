"""What a job is: a name, how often it is due, and a run that is safe to repeat (each job looks at
the data and does only what is not done yet, so a run cut short is finished by the next one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hopthu.policy.dates import VIETNAM


@dataclass(frozen=True)
class JobContext:
    """What a run may use: the process's services and the moment the run is for."""

    services: Any
    now: dt.datetime

    @property
    def directory(self) -> Any:
        return self.services.directory

    @property
    def settings(self) -> Any:
        return self.services.settings


@dataclass(frozen=True)
class Job:
    name: str
    vi: str  # what it does, for the operators' page
    en: str
    every: dt.timedelta  # how often it is due
    run: Callable[[JobContext], Awaitable[dict[str, int]]] = field(repr=False)  # returns its counts

    def slot(self, now: dt.datetime) -> str:
        """The period `now` falls in, in Vietnam's time: a job runs once per slot."""
        local = now.astimezone(VIETNAM)
        if self.every >= dt.timedelta(days=1):
            days = self.every.days
            ordinal = local.date().toordinal()
            return dt.date.fromordinal(ordinal - ordinal % days).isoformat()
        step = int(self.every.total_seconds())
        start = int(local.timestamp()) // step * step
        return dt.datetime.fromtimestamp(start, VIETNAM).strftime("%Y-%m-%dT%H:%M")
