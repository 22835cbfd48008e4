"""R13.1, R3.1 as production applies them: the inspector records what `policy.spam` says of the score
rspamd gives (here a fake engine with a fixed score; the real rspamd is in test_served.py)."""

from __future__ import annotations

import pytest

from hopthu.config import ProtectionSettings
from hopthu.mail import parse
from hopthu.protection.engines import ScanEnvelope, SpamAnswer
from hopthu.protection.inspector import Inspector, Subject
from hopthu.protection.verdicts import Action, Verdict
from hopthu.smtp.dns import StaticResolver

LETTER = b"From: ban@example.org\r\nTo: nvminh@cantho.gov.vn\r\nSubject: Xin chao\r\n\r\nXin chao.\r\n"


class FixedScore:
    def __init__(self, score: float) -> None:
        self.score = score

    async def check(self, message: bytes, envelope: ScanEnvelope) -> SpamAnswer:
        return SpamAnswer(self.score, "no action", {"TEST": self.score})

    async def learn(self, message: bytes, *, spam: bool) -> None:
        return None


@pytest.mark.parametrize(
    ("channel", "score", "action"),
    [
        ("mx", 5.0, Action.DELIVER),
        ("mx", 7.0, Action.JUNK),
        ("mx", 15.0, Action.REJECT),
        ("submission", 9.0, Action.DELIVER),
        ("submission", 10.0, Action.HOLD),
    ],
)
async def test_the_inspector_acts_on_the_score_as_the_policy_says(
    channel: str, score: float, action: Action
) -> None:
    inspector = Inspector(ProtectionSettings(dnsbl_zones=()), StaticResolver(), spam=FixedScore(score))
    subject = Subject(
        LETTER, parse(LETTER), channel, "127.0.0.1", "pc", "ban@example.org", ["nvminh@cantho.gov.vn"], "mx"
    )
    inspection = await inspector.inspect(subject)
    assert inspection.action is action
    assert inspection.verdict is (Verdict.CLEAN if action is Action.DELIVER else Verdict.SPAM)
    required = 6.0 if channel == "mx" else 10.0
    assert f"required={required:.2f}".encode() in inspection.header
