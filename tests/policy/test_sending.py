"""R3.1: the sending limits (`policy.sending.judge`), counts and limits as parameters."""

import pytest

from hopthu.policy.sending import Limits, Verdict, judge, lock_note

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
