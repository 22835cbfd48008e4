"""R3.1, R3.2: the sending limits (`policy.sending.judge`) and who may send as an address
(`send_as_right`), counts and directory facts as parameters."""

import pytest

from hopthu.policy.lifecycle import Status
from hopthu.policy.sending import Limits, SendAsRight, Verdict, judge, lock_note, send_as_right

LIMITS = Limits(per_hour=3, per_day=5, hard_per_day=8)


@pytest.mark.parametrize(
    ("attempts", "today", "hour", "verdict"),
    [
        (1, 0, 0, Verdict.ALLOW),
        (3, 2, 2, Verdict.ALLOW),
        (4, 3, 3, Verdict.DEFER),  # three an hour
        (5, 4, 0, Verdict.ALLOW),
        (6, 5, 0, Verdict.DEFER),  # five a day, however spread
        (8, 5, 0, Verdict.DEFER),  # deferred attempts still count towards the hard limit ...
        (9, 5, 0, Verdict.LOCK),  # ... and past it the account is locked (R6.4a)
        (9, 0, 0, Verdict.LOCK),  # the hard limit comes first
    ],
)
def test_r3_1_soft_limits_defer_and_the_hard_limit_locks(
    attempts: int, today: int, hour: int, verdict: Verdict
) -> None:
    assert judge(attempts_today=attempts, sent_today=today, sent_last_hour=hour, limits=LIMITS) is verdict


def test_the_lock_says_why_in_the_audit_log() -> None:
    assert lock_note(LIMITS) == "vượt giới hạn gửi 8 người nhận/ngày (R3.1)"


@pytest.mark.parametrize(
    ("status", "own", "delegated", "right"),
    [
        (Status.ACTIVE, True, False, SendAsRight.OWN),
        (Status.ACTIVE, False, True, SendAsRight.DELEGATED),  # R8.2, named in Sender: (R8.3)
        (Status.ACTIVE, False, False, SendAsRight.NOT_DELEGATED),  # R3.2: not someone else's
        (None, False, False, SendAsRight.NOT_OURS),
        (Status.LOCKED, True, False, SendAsRight.MAILBOX_CANNOT_SEND),  # R6.4: a locked mailbox only receives
        (Status.LOCKED, False, True, SendAsRight.MAILBOX_CANNOT_SEND),
        (Status.REVOKED, False, True, SendAsRight.MAILBOX_CANNOT_SEND),
    ],
)
def test_r3_2_one_sends_as_oneself_or_a_mailbox_delegated_to_send(
    status: Status | None, own: bool, delegated: bool, right: SendAsRight
) -> None:
    assert send_as_right(mailbox_status=status, own=own, delegated_to_send=delegated) is right
    assert right.allowed == (right in (SendAsRight.OWN, SendAsRight.DELEGATED))
