"""How the web pages write a moment: always in the city's time (Asia/Ho_Chi_Minh, UTC+07:00, no
daylight saving), in the page's language, and in one place so a list and a message never disagree.

A list is scanned, so it writes as little as tells messages apart: the time for today, day and month
for this year, the full date before that. A message, and the tooltip of a list's date, says
everything: weekday, date and time ("Thứ Năm, 03/12/2026 06:39" / "Thu, 3 Dec 2026 06:39").
"""

from __future__ import annotations

import datetime as dt

from hopthu.policy.dates import VIETNAM

# Weekdays and months are spelt here rather than taken from the C library's locale, which a server
# may lack (Vietnamese locales are rarely installed) and which the process shares with others.
_WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local(moment: dt.datetime, now: dt.datetime | None) -> tuple[dt.datetime, dt.date]:
    """The moment and today, both in the city's time (a naive value is taken as UTC, as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    today = (now or dt.datetime.now(VIETNAM)).astimezone(VIETNAM).date()
    return moment.astimezone(VIETNAM), today


def short(moment: dt.datetime | None, lang: str = "vi", now: dt.datetime | None = None) -> str:
    """A moment as a list shows it: "06:39" today, "03/12" ("3 Dec") this year, else "03/12/2025"
    ("3 Dec 2025")."""
    if moment is None:
        return ""
    local, today = _local(moment, now)
    if local.date() == today:
        return f"{local:%H:%M}"
    if lang == "en":
        day = f"{local.day} {_MONTHS_EN[local.month - 1]}"
        return day if local.year == today.year else f"{day} {local.year}"
    return f"{local:%d/%m}" if local.year == today.year else f"{local:%d/%m/%Y}"


def full(moment: dt.datetime | None, lang: str = "vi") -> str:
    """A moment in full: "Thứ Năm, 03/12/2026 06:39" / "Thu, 3 Dec 2026 06:39"."""
    if moment is None:
        return ""
    local, _ = _local(moment, None)
    if lang == "en":
        month = _MONTHS_EN[local.month - 1]
        return f"{_WEEKDAYS_EN[local.weekday()]}, {local.day} {month} {local.year} {local:%H:%M}"
    return f"{_WEEKDAYS_VI[local.weekday()]}, {local:%d/%m/%Y %H:%M}"
