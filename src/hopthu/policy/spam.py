"""What a spam score means (R13.1, and R3.1 for mail our own people send).

rspamd scores each message (`protection.engines`); this module decides what the score does. Mail
from other servers at or above the junk threshold goes to Thư rác (never deleted, R13.1), unless
the city's allow list names its sender; at or above the reject threshold it is refused at DATA.
Mail one of our own people sends at or above the hold threshold is held for an operator and the
account locked, presumed hijacked (R3.1, R6.4a). The thresholds are settings
(`protection.junk_score`, `reject_score`, `hold_score`); `protection.inspector` asks `judge_score`
and records the answer in the message's inspection.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ScoreAction(Enum):
    """What a score does to a message; a score below every threshold does nothing."""

    JUNK = "junk"  # to Thư rác, with the verdict in a header
    REJECT = "reject"  # refused at DATA (550 5.7.1)
    HOLD = "hold"  # outgoing: kept for an operator, the account locked (R3.1)


@dataclass(frozen=True, slots=True)
class ScoreThresholds:
    """The settings `protection.junk_score`, `reject_score` and `hold_score`."""

    junk: float
    reject: float
    hold: float

    def required(self, *, inbound: bool) -> float:
        """The score that counts as spam for X-Spam-Status: junk for mail in, hold for mail out."""
        return self.junk if inbound else self.hold


@dataclass(frozen=True, slots=True)
class ScoreJudgement:
    """A score's consequence and why, in Vietnamese and English (for the refusal or the quarantine)."""

    action: ScoreAction
    vi: str
    en: str


def judge_score(
    score: float, *, inbound: bool, allowed: bool, thresholds: ScoreThresholds
) -> ScoreJudgement | None:
    """R13.1 and R3.1: what rspamd's `score` does to a message coming in (`inbound`) or sent by one
    of our own people; `allowed` when the city's allow list names its sender (its score then files
    nothing to Thư rác, though a score over the reject threshold is still refused). None: deliver."""
    words = f"{score:.1f}"
    if not inbound:
        if score >= thresholds.hold:
            return ScoreJudgement(
                ScoreAction.HOLD,
                f"Thư gửi đi có điểm thư rác {words} (ngưỡng {thresholds.hold:g}); thư bị giữ lại",
                f"Outgoing message scored {words} as spam (limit {thresholds.hold:g}); it is held",
            )
        return None
    if score >= thresholds.reject:
        return ScoreJudgement(
            ScoreAction.REJECT,
            f"Thư bị đánh giá là thư rác (điểm {words})",
            f"The message was judged to be spam (score {words})",
        )
    if score >= thresholds.junk and not allowed:
        return ScoreJudgement(
            ScoreAction.JUNK,
            f"Thư có thể là thư rác (điểm {words})",
            f"The message may be spam (score {words})",
        )
    return None
