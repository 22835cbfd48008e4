"""How long a webmail session may stay idle (R13.3, R11.4: avoid public shared devices).

A person's session ends after a while unused; a "public computer" sign-in sooner (and, in the browser,
when the browser closes, since its cookie has no lifetime); so does the session of anyone holding an
administrative role, who can do more harm if it is left open. The three durations are the
operator's settings (`[policy] session_*_minutes`), handed in as `IdleLimits`; the shortest that
applies wins. `directory.websessions` keeps the sessions and their last use; this module only says
when one ends. The time is a parameter; nothing here reads a clock or the settings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IdleLimits:
    """How long each kind of session may go unused (R13.3)."""

    user: dt.timedelta
    public: dt.timedelta
    administrator: dt.timedelta


def idle_limit(limits: IdleLimits, *, public: bool, administrator: bool) -> dt.timedelta:
    """How long this session may go unused before it ends: the shortest limit that applies to it."""
    applying = [limits.user]
    if public:
        applying.append(limits.public)
    if administrator:
        applying.append(limits.administrator)
    return min(applying)


def session_expires_at(
    last_seen_at: dt.datetime, limits: IdleLimits, *, public: bool, administrator: bool
) -> dt.datetime:
    """When a session last used at `last_seen_at` ends, unless it is used again before."""
    return last_seen_at + idle_limit(limits, public=public, administrator=administrator)


def session_expired(
    last_seen_at: dt.datetime, now: dt.datetime, limits: IdleLimits, *, public: bool, administrator: bool
) -> bool:
    """Whether at `now` the session has been idle too long and is over."""
    return now >= session_expires_at(last_seen_at, limits, public=public, administrator=administrator)
