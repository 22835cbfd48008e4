"""R13.3, R11.4: how long a webmail session may stay idle (`policy.sessions`), the durations and the
time parameters."""

import datetime as dt

from hopthu.config import PolicySettings
from hopthu.directory.websessions import idle_limits
from hopthu.policy import sessions

SEEN = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
LIMITS = idle_limits(PolicySettings())  # the defaults the regulation names


def test_r13_3_defaults_thirty_minutes_fifteen_on_a_public_computer_or_for_an_administrator() -> None:
    def limit(public: bool, administrator: bool) -> dt.timedelta:
        return sessions.idle_limit(LIMITS, public=public, administrator=administrator)

    assert limit(False, False) == dt.timedelta(minutes=30)
    assert limit(True, False) == limit(False, True) == limit(True, True) == dt.timedelta(minutes=15)
    assert not sessions.session_expired(
        SEEN, SEEN + dt.timedelta(minutes=29, seconds=59), LIMITS, public=False, administrator=False
    )
    assert sessions.session_expired(
        SEEN, SEEN + dt.timedelta(minutes=30), LIMITS, public=False, administrator=False
    )
    assert sessions.session_expired(
        SEEN, SEEN + dt.timedelta(minutes=15), LIMITS, public=True, administrator=False
    )


def test_the_shortest_limit_that_applies_wins() -> None:
    """A setting longer than a person's limit does not lengthen a public or administrator session."""
    limits = sessions.IdleLimits(
        user=dt.timedelta(minutes=20), public=dt.timedelta(minutes=60), administrator=dt.timedelta(minutes=5)
    )
    assert sessions.idle_limit(limits, public=True, administrator=False) == dt.timedelta(minutes=20)
    assert sessions.idle_limit(limits, public=True, administrator=True) == dt.timedelta(minutes=5)
    assert sessions.session_expires_at(SEEN, limits, public=False, administrator=True) == SEEN + dt.timedelta(
        minutes=5
    )
