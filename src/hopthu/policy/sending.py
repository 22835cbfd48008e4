"""Outbound sending (R3.1, R3.2): how many recipients an account may send to, and which addresses it
may send as.

R3.1, sending limits: an account may reach so many recipients an hour and so many a day (soft
limits); past them it is deferred (SMTP 451 4.7.1) and may try again later. Attempts, refused or
not, count towards a hard daily limit; crossing it means the account is probably hijacked and
spreading spam, so it is locked (R6.4a). The counts are kept by `smtp.limits` (for submission and
the webmail alike), which asks `judge` for each recipient and does the locking.

R3.2 and R8.2, sending as an address: a person may send as their own mailbox and its aliases, and
as an active agency mailbox delegated to them with the right to send; a delegated send then names
the person in Sender: (R8.3). `directory.senders` finds the mailbox behind the address and the
delegation, and asks `send_as_right`.

Counts, limits and directory facts are parameters; nothing here reads a clock or a database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from hopthu.policy.lifecycle import Status, can_send

HOUR: Final = 3600.0
"""The window of the hourly limit, in seconds."""
DAY: Final = 24 * HOUR
"""The window of the daily limits, in seconds."""


class Verdict(Enum):
    """What becomes of one more recipient."""

    ALLOW = "allow"
    DEFER = "defer"  # over a soft limit: try again later (451 4.7.1)
    LOCK = "lock"  # over the hard limit: the account is presumed hijacked and locked (R6.4a)


@dataclass(frozen=True, slots=True)
class Limits:
    """The three limits of R3.1, from the settings (`smtp.limit_per_hour`, `smtp.limit_per_day`,
    `smtp.hard_limit_per_day`)."""

    per_hour: int
    per_day: int
    hard_per_day: int


def judge(*, attempts_today: int, sent_today: int, sent_last_hour: int, limits: Limits) -> Verdict:
    """R3.1: may the account add one more recipient? `attempts_today` counts this attempt too, with
    every attempt of the last day, refused or not; `sent_today` and `sent_last_hour` count the
    recipients accepted before it. The hard limit is checked first: a hijacked account that keeps
    trying is locked even while every attempt is deferred."""
    if attempts_today > limits.hard_per_day:
        return Verdict.LOCK
    if sent_today >= limits.per_day or sent_last_hour >= limits.per_hour:
        return Verdict.DEFER
    return Verdict.ALLOW


def lock_note(limits: Limits) -> str:
    """Why the account was locked, as the audit log shows it (in Vietnamese, for the operators)."""
    return f"vượt giới hạn gửi {limits.hard_per_day} người nhận/ngày (R3.1)"


class SendAsRight(Enum):
    """Whether a signed-in person may send as an address, and why (R3.2, R8.2)."""

    OWN = "own"  # their own mailbox, by its address or an alias
    DELEGATED = "delegated"  # an agency mailbox delegated to them to send as (R8.2); named in Sender: (R8.3)
    NOT_OURS = "not_ours"  # no mailbox of ours has that address
    MAILBOX_CANNOT_SEND = "mailbox_cannot_send"  # the mailbox is locked, revoked or deleted (R6)
    NOT_DELEGATED = "not_delegated"  # someone else's, not delegated with the right to send

    @property
    def allowed(self) -> bool:
        return self in (SendAsRight.OWN, SendAsRight.DELEGATED)


def send_as_right(*, mailbox_status: Status | None, own: bool, delegated_to_send: bool) -> SendAsRight:
    """R3.2: may a person send as an address? `mailbox_status` is that of the mailbox behind the
    address (None when no mailbox of ours has it), `own` whether that mailbox is the person's, and
    `delegated_to_send` whether it is delegated to them with the right to send (R8.2). A mailbox that
    may not send (R6) is refused to its owner and its delegates alike."""
    if mailbox_status is None:
        return SendAsRight.NOT_OURS
    if not can_send(mailbox_status):
        return SendAsRight.MAILBOX_CANNOT_SEND
    if own:
        return SendAsRight.OWN
    return SendAsRight.DELEGATED if delegated_to_send else SendAsRight.NOT_DELEGATED
