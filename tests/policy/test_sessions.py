"""R11.4: how long a webmail session may stay idle (`policy.sessions`), the time a parameter."""

import datetime as dt

from hopthu.policy import sessions

SEEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def test_r11_4_a_public_computer_session_ends_after_thirty_idle_minutes() -> None:
    assert sessions.idle_limit(public=True) == dt.timedelta(minutes=30)
    assert sessions.session_expires_at(SEEN, public=True) == SEEN + dt.timedelta(minutes=30)
    assert not sessions.session_expired(SEEN, SEEN + dt.timedelta(minutes=29, seconds=59), public=True)
    assert sessions.session_expired(SEEN, SEEN + dt.timedelta(minutes=30), public=True)


def test_a_private_session_ends_after_fourteen_idle_days() -> None:
    assert sessions.idle_limit(public=False) == dt.timedelta(days=14)
    assert not sessions.session_expired(SEEN, SEEN + dt.timedelta(days=13, hours=23), public=False)
    assert sessions.session_expired(SEEN, SEEN + dt.timedelta(days=14), public=False)
