"""What protection concludes about one message, as data the pipeline acts on."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Action(enum.Enum):
    DELIVER = "deliver"  # to each recipient's inbox (their own rules may still file it to Thư rác)
    JUNK = "junk"  # to Thư rác, with the verdict in a header
    REJECT = "reject"  # 550 5.7.1 at DATA: never a bounce afterwards
    HOLD = "hold"  # mail our own people send: kept in quarantine, the account locked (R3.1)
    TEMPFAIL = "tempfail"  # 451: an engine could not answer and `on_failure` is "tempfail"


class Verdict(enum.StrEnum):
    CLEAN = "clean"
    SPAM = "spam"  # rspamd's score
    MALWARE = "malware"  # clamd found a signature
    DANGEROUS = "dangerous"  # a file type refused by name (protection.dangerous_extensions)
    BLOCKLISTED = "dnsbl"  # the client's address is on a DNS blocklist
    BLOCKED = "blocked"  # the city's or a person's block list names the sender
    DMARC = "dmarc"  # the author's domain publishes p=reject or p=quarantine and the message fails
    UNSCANNED = "unscanned"  # an engine failed and `on_failure` is "accept"
    FORGED = "forged"  # claims our own domain without passing DMARC (R3.2)


@dataclass(frozen=True)
class EngineState:
    """How one engine answered this message: "ok", "off" (not configured) or "failed"."""

    name: str
    state: str
    detail: str = ""


@dataclass
class Inspection:
    action: Action = Action.DELIVER
    verdict: Verdict = Verdict.CLEAN
    score: float | None = None  # rspamd's, when it scored the message
    symbols: dict[str, float] = field(default_factory=dict)  # rspamd's symbols with their scores
    virus: str | None = None
    vi: str = ""  # why, for the refusal or the quarantine (Vietnamese, then English)
    en: str = ""
    engines: list[EngineState] = field(default_factory=list)
    header: bytes = b""  # X-Spam-* and X-HopThu-Verdict fields stored before the message
    allowed: bool = False  # the city's allow list names the sender: a score files nothing to Thư rác

    @property
    def scanned(self) -> bool:
        """Every configured engine answered."""
        return all(engine.state != "failed" for engine in self.engines)

    def decide(self, action: Action, verdict: Verdict, vi: str, en: str) -> None:
        """Record a conclusion; a stronger action is never weakened by a later check."""
        if _STRENGTH[action] > _STRENGTH[self.action]:
            self.action, self.verdict, self.vi, self.en = action, verdict, vi, en


_STRENGTH = {Action.DELIVER: 0, Action.JUNK: 1, Action.HOLD: 2, Action.TEMPFAIL: 3, Action.REJECT: 4}
