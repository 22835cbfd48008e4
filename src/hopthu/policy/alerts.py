"""When the operators are told that the system needs them (R9.2: incident alerting): each condition
a small rule over figures the job measured, and the key that lets one alert go at most once a day
(Vietnam's day) while its condition holds. Pure: figures and time are parameters."""

from __future__ import annotations

import datetime as dt

from hopthu.policy.dates import VIETNAM


def queue_too_long(waiting: int, threshold: int) -> bool:
    """The outbound queue holds `threshold` items or more waiting to leave."""
    return waiting >= threshold


def disk_low(free_bytes: int, total_bytes: int, free_percent: float) -> bool:
    """The data disk has less than `free_percent` of its size free."""
    return total_bytes > 0 and free_bytes * 100 < free_percent * total_bytes


def daily_key(condition: str, now: dt.datetime) -> str:
    """The notice key of `condition` on `now`'s day: the same key all day, a new one the next."""
    return f"{condition}:{now.astimezone(VIETNAM).date().isoformat()}"
