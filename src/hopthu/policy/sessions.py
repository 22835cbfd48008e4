"""How long a webmail session may stay idle (R11.4: avoid public shared devices).

A "public computer" sign-in gets a short session: it ends after 30 idle minutes (and, in the browser,
when the browser closes, since its cookie has no lifetime). A private one ends after 14 idle days.
`directory.websessions` keeps the sessions and their last use; this module only says when one ends.
The time is a parameter; nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

PUBLIC_IDLE: Final = dt.timedelta(minutes=30)
"""R11.4: a session opened on a public computer ends after this long without use."""
PRIVATE_IDLE: Final = dt.timedelta(days=14)
"""A session on one's own device ends after this long without use."""


def idle_limit(*, public: bool) -> dt.timedelta:
    """How long a session may go unused before it ends: short on a public computer (R11.4)."""
    return PUBLIC_IDLE if public else PRIVATE_IDLE


def session_expires_at(last_seen_at: dt.datetime, *, public: bool) -> dt.datetime:
    """When a session last used at `last_seen_at` ends, unless it is used again before."""
    return last_seen_at + idle_limit(public=public)


def session_expired(last_seen_at: dt.datetime, now: dt.datetime, *, public: bool) -> bool:
    """Whether at `now` the session has been idle too long and is over."""
    return now >= session_expires_at(last_seen_at, public=public)
