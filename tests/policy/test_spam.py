"""R13.1 and R3.1: what a spam score does (`policy.spam.judge_score`), thresholds as parameters."""

import pytest

from hopthu.policy.spam import ScoreAction, ScoreThresholds, judge_score

THRESHOLDS = ScoreThresholds(junk=6.0, reject=15.0, hold=10.0)


@pytest.mark.parametrize(
    ("score", "allowed", "action"),
    [
        (5.9, False, None),
        (6.0, False, ScoreAction.JUNK),  # to Thư rác, never deleted (R13.1)
        (6.0, True, None),  # the city's allow list names the sender
        (14.9, False, ScoreAction.JUNK),
        (15.0, False, ScoreAction.REJECT),
        (15.0, True, ScoreAction.REJECT),  # the allow list files nothing, and saves nothing from refusal
    ],
)
def test_r13_1_mail_coming_in_goes_to_junk_or_is_refused(
    score: float, allowed: bool, action: ScoreAction | None
) -> None:
    judged = judge_score(score, inbound=True, allowed=allowed, thresholds=THRESHOLDS)
    assert (judged.action if judged else None) is action


def test_r3_1_mail_our_people_send_is_held_at_the_hold_threshold() -> None:
    assert judge_score(9.9, inbound=False, allowed=False, thresholds=THRESHOLDS) is None
    held = judge_score(10.0, inbound=False, allowed=False, thresholds=THRESHOLDS)
    assert held is not None and held.action is ScoreAction.HOLD
    assert held.vi == "Thư gửi đi có điểm thư rác 10.0 (ngưỡng 10); thư bị giữ lại"
    assert held.en == "Outgoing message scored 10.0 as spam (limit 10); it is held"
    assert judge_score(99.0, inbound=False, allowed=True, thresholds=THRESHOLDS).action is ScoreAction.HOLD


def test_the_words_name_the_score() -> None:
    junk = judge_score(7.25, inbound=True, allowed=False, thresholds=THRESHOLDS)
    assert junk is not None and (junk.vi, junk.en) == (
        "Thư có thể là thư rác (điểm 7.2)",
        "The message may be spam (score 7.2)",
    )
    refused = judge_score(20.0, inbound=True, allowed=False, thresholds=THRESHOLDS)
    assert refused is not None and refused.en == "The message was judged to be spam (score 20.0)"


def test_x_spam_status_counts_junk_in_and_hold_out() -> None:
    assert THRESHOLDS.required(inbound=True) == 6.0 and THRESHOLDS.required(inbound=False) == 10.0
