"""A personal data breach and the time the law gives to report it (R13.6, Luật Bảo vệ dữ liệu cá
nhân 91/2025 and its decree: the competent authority is notified within 72 hours of discovery).

Pure: the moment of discovery and `now` are parameters. The portal's home page and `hopthu breach
list` show what `standing` says; a breach stops counting once it is reported or closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

NOTIFY_WITHIN: Final = dt.timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class Standing:
    """Where an unreported breach stands against its deadline at one moment."""

    deadline: dt.datetime
    left: dt.timedelta  # zero when overdue

    @property
    def overdue(self) -> bool:
        return self.left <= dt.timedelta(0)

    def left_text(self) -> tuple[str, str]:
        """The time left in hours and minutes, or "overdue", in Vietnamese and English."""
        if self.overdue:
            return ("quá hạn", "overdue")
        minutes = int(self.left.total_seconds() // 60)
        hours, minutes = divmod(minutes, 60)
        return (f"còn {hours} giờ {minutes:02d} phút", f"{hours} h {minutes:02d} min left")


def deadline(discovered_at: dt.datetime) -> dt.datetime:
    """When the authority must have been notified: 72 hours after the breach was discovered."""
    return discovered_at + NOTIFY_WITHIN


def standing(discovered_at: dt.datetime, now: dt.datetime) -> Standing:
    due = deadline(discovered_at)
    return Standing(due, max(due - now, dt.timedelta(0)))


def counts_down(reported_at: dt.datetime | None, closed_at: dt.datetime | None) -> bool:
    """Whether the deadline still matters: neither reported to the authority nor closed."""
    return reported_at is None and closed_at is None
