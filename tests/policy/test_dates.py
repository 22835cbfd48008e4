"""Calendar-month arithmetic behind R5.2 (3 months) and R6.5 (6 months)."""

import calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopthu.policy.dates import add_months, warning_due

VN = dt.timezone(dt.timedelta(hours=7))


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)),
        (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)),
        (dt.date(2025, 1, 31), 3, dt.date(2025, 4, 30)),
        (dt.date(2023, 11, 30), 3, dt.date(2024, 2, 29)),
        (dt.date(2025, 8, 31), 6, dt.date(2026, 2, 28)),
        (dt.date(2025, 12, 15), 1, dt.date(2026, 1, 15)),
        (dt.date(2025, 3, 31), -1, dt.date(2025, 2, 28)),
        (dt.date(2025, 5, 10), 0, dt.date(2025, 5, 10)),
    ],
)
def test_r5_2_calendar_months_clamp_to_the_end_of_a_shorter_month(
    start: dt.date, months: int, end: dt.date
) -> None:
    """R5.2, R6.5: periods are calendar months; 31 January + 1 month is the last day of February."""
    assert add_months(start, months) == end


def test_r5_2_a_datetime_keeps_its_time_and_time_zone() -> None:
    start = dt.datetime(2025, 11, 30, 23, 59, 59, tzinfo=VN)
    assert add_months(start, 3) == dt.datetime(2026, 2, 28, 23, 59, 59, tzinfo=VN)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2900, 12, 31)), st.integers(-1200, 1200))
def test_r5_2_adding_months_moves_the_month_and_keeps_or_clamps_the_day(start: dt.date, months: int) -> None:
    end = add_months(start, months)
    assert (end.year * 12 + end.month) - (start.year * 12 + start.month) == months
    assert end.day == min(start.day, calendar.monthrange(end.year, end.month)[1])


def test_r6_5_the_warning_due_is_the_nearest_whose_day_has_come() -> None:
    """R5.2, R6.5: of warnings 30 and 7 days before, only the nearest reached is due; none before."""
    deadline = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    assert warning_due(deadline, deadline - dt.timedelta(days=31), (30, 7)) is None
    assert warning_due(deadline, deadline - dt.timedelta(days=30), (30, 7)) == 30
    assert warning_due(deadline, deadline - dt.timedelta(days=2), (30, 7)) == 7
    assert warning_due(deadline, deadline + dt.timedelta(days=2), (7, 30)) == 7
    assert warning_due(deadline, deadline, ()) is None
