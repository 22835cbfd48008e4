"""Calendar-month arithmetic for the regulation's periods ("03 tháng", "06 tháng").

The regulation counts in calendar months: a password changed on 31 January expires at the end of
April's last day that exists, 30 April, not 90 days later. Adding months keeps the time of day and the
time zone of the value it is given and clamps the day to the end of a shorter month. Viet Nam keeps no
daylight saving time, so a value in the city's time zone (UTC+07:00) moves by whole days exactly.
"""

import calendar
import datetime as dt
from collections.abc import Iterable
from typing import TypeVar

D = TypeVar("D", dt.date, dt.datetime)

VIETNAM = dt.timezone(dt.timedelta(hours=7))  # the city's time: days, periods and dates shown


def add_months(value: D, months: int) -> D:
    """Return `value` moved by `months` calendar months (negative goes back), clamping the day.

    31 January + 1 month is 28 February (29 in a leap year); 30 November + 3 months is 28/29 February.
    """
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def warning_due(deadline: dt.datetime, now: dt.datetime, days_before: Iterable[int]) -> int | None:
    """Which warning, in days before `deadline`, is the one to send at `now`, or None before the first.

    Of the warnings whose day has come, the nearest to the deadline is the one: a warning whose day
    passed while none was sent (the system was down, the account was new) is not sent late, so a
    person is told "7 days left" and not "30 days left" a week before. Used for password expiry
    (R5.2) and revocation (R6.5) alike.
    """
    reached = [days for days in days_before if deadline - dt.timedelta(days=days) <= now]
    return min(reached) if reached else None
