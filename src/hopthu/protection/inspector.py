"""One inspection per message: the built-in checks, then clamd and rspamd side by side.

Order (cheapest and surest first; a refusal stops the rest): the city's sender rules, the DNS
blocklists, other domains' DMARC policy, dangerous file types, then the engines. Mail from the MX is
judged by `junk_score` and `reject_score`; mail our own people send by `hold_score` (R3.1: an
account sending spam is presumed hijacked); `policy.spam` decides what a score does. Malware is
refused in both directions. The system's own notices are not inspected.

An engine that cannot answer never turns into a verdict it did not give: with `on_failure =
"tempfail"` the sender is asked to try again (451), with "accept" the message is delivered with
`X-HopThu-Scan: unscanned`. Either way the operators are told (`alert`, at most once per engine per
`ALERT_EVERY`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from hopthu.config import ProtectionSettings
from hopthu.mail import ParsedMessage
from hopthu.policy.spam import ScoreAction, ScoreThresholds, judge_score
from hopthu.protection import dnsbl, filetypes
from hopthu.protection.engines import EngineError, ScanEnvelope, SpamAnswer, SpamEngine, VirusEngine
from hopthu.protection.verdicts import Action, EngineState, Inspection, Verdict
from hopthu.smtp.dns import Resolver
from hopthu.smtp.verify import Verdict as AuthVerdict

log = logging.getLogger("hopthu.protection")
ALERT_EVERY = 15 * 60.0  # seconds between two alerts about the same engine
SYMBOLS_IN_HEADER = 20


class SenderRules(Protocol):
    async def city(self, senders: Collection[str]) -> str | None:
        """ "block" or "allow" when the city's lists name one of `senders` (addresses, lower case),
        else None."""
        ...


@dataclass(frozen=True)
class Subject:
    """The message under inspection and how it came."""

    data: bytes  # canonical bytes, as stored
    parsed: ParsedMessage
    channel: str  # "mx" | "submission" | "web"
    client_ip: str
    helo: str
    mail_from: str
    recipients: Sequence[str]
    hostname: str
    user: str | None = None  # the signed-in sender (submission, web)
    auth: AuthVerdict | None = None  # SPF/DKIM/DMARC, for mail from the MX
    author: str = ""  # the From: address, lower case, when it has one reading
    queue_id: str = ""


class Inspector:
    def __init__(
        self,
        settings: ProtectionSettings,
        resolver: Resolver,
        *,
        spam: SpamEngine | None = None,
        virus: VirusEngine | None = None,
        rules: SenderRules | None = None,
        alert: Callable[[str, str], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.spam = spam
        self.virus = virus
        self.rules = rules
        self.alert = alert
        self.clock = clock
        self._alerted: dict[str, float] = {}

    @property
    def scoring(self) -> bool:
        return self.spam is not None

    @property
    def scanning(self) -> bool:
        return self.virus is not None

    async def inspect(self, subject: Subject) -> Inspection:
        inspection = Inspection()
        inbound = subject.channel == "mx"
        if inbound:
            await self._built_in(subject, inspection)
            if inspection.action is Action.REJECT:
                return inspection
        await self._engines(subject, inspection, inbound=inbound)
        inspection.header = _header(inspection, self.settings, inbound=inbound)
        return inspection

    async def _built_in(self, subject: Subject, inspection: Inspection) -> None:
        senders = {address for address in (subject.mail_from.lower(), subject.author) if address}
        city = await self.rules.city(senders) if self.rules is not None and senders else None
        if city == "block":
            inspection.decide(
                Action.REJECT,
                Verdict.BLOCKED,
                "Người gửi bị chặn theo danh sách của thành phố",
                "The sender is on the city's block list",
            )
            return
        zone = await dnsbl.listed(self.resolver, subject.client_ip, self.settings.dnsbl_zones)
        if zone is not None:
            inspection.decide(
                Action.REJECT,
                Verdict.BLOCKLISTED,
                f"Địa chỉ máy gửi {subject.client_ip} nằm trong danh sách chặn {zone}",
                f"The sending address {subject.client_ip} is listed by {zone}",
            )
            return
        dmarc = subject.auth.dmarc if subject.auth is not None else None
        forges = subject.auth is not None and subject.auth.forges_our_domain
        if dmarc is not None and dmarc.result.value == "fail" and not forges:
            if dmarc.policy == "reject":
                inspection.decide(
                    Action.REJECT,
                    Verdict.DMARC,
                    f"Thư không qua kiểm tra DMARC của {dmarc.from_domain} (p=reject)",
                    f"The message fails the DMARC policy of {dmarc.from_domain} (p=reject)",
                )
                return
            if dmarc.policy == "quarantine":
                inspection.decide(
                    Action.JUNK,
                    Verdict.DMARC,
                    f"Thư không qua kiểm tra DMARC của {dmarc.from_domain} (p=quarantine)",
                    f"The message fails the DMARC policy of {dmarc.from_domain} (p=quarantine)",
                )
        found = await filetypes.inspect(subject.data, subject.parsed, self.settings.dangerous_extensions)
        if found is not None:
            inspection.decide(
                Action.REJECT,
                Verdict.DANGEROUS,
                f"Tệp đính kèm nguy hiểm bị từ chối: {found.vi}",
                f"Dangerous attachment refused: {found.en}",
            )
            return
        inspection.allowed = city == "allow"

    async def _engines(self, subject: Subject, inspection: Inspection, *, inbound: bool) -> None:
        timeout = self.settings.scan_timeout_seconds
        envelope = ScanEnvelope(
            client_ip=subject.client_ip,
            helo=subject.helo,
            mail_from=subject.mail_from,
            recipients=subject.recipients,
            hostname=subject.hostname,
            user=subject.user,
            queue_id=subject.queue_id,
        )
        message = (subject.auth.header if subject.auth is not None else b"") + subject.data
        virus_task = (
            asyncio.wait_for(self.virus.scan(subject.data), timeout) if self.virus is not None else None
        )
        spam_task = (
            asyncio.wait_for(self.spam.check(message, envelope), timeout) if self.spam is not None else None
        )
        results = await asyncio.gather(
            *(task for task in (virus_task, spam_task) if task is not None), return_exceptions=True
        )
        answers = iter(results)
        virus_answer = next(answers) if virus_task is not None else None
        spam_answer = next(answers) if spam_task is not None else None
        failed: list[EngineState] = []
        if self.virus is None:
            inspection.engines.append(EngineState("clamd", "off"))
        elif isinstance(virus_answer, BaseException):
            failed.append(EngineState("clamd", "failed", _why(virus_answer)))
        else:
            inspection.engines.append(EngineState("clamd", "ok"))
            if virus_answer:
                inspection.virus = str(virus_answer)
                inspection.decide(
                    Action.REJECT,
                    Verdict.MALWARE,
                    f"Thư chứa mã độc ({virus_answer})",
                    f"The message carries malware ({virus_answer})",
                )
        if self.spam is None:
            inspection.engines.append(EngineState("rspamd", "off"))
        elif isinstance(spam_answer, BaseException):
            failed.append(EngineState("rspamd", "failed", _why(spam_answer)))
        else:
            inspection.engines.append(EngineState("rspamd", "ok"))
            assert isinstance(spam_answer, SpamAnswer)  # gather() loses which answer is whose
            inspection.score = spam_answer.score
            inspection.symbols = dict(spam_answer.symbols)
            self._judge_score(inspection, spam_answer.score, inbound=inbound)
        inspection.engines.extend(failed)
        for engine in failed:
            await self._alert(engine)
        if failed and inspection.action is not Action.REJECT:
            names = ", ".join(engine.name for engine in failed)
            if self.settings.on_failure == "tempfail":
                inspection.decide(
                    Action.TEMPFAIL,
                    Verdict.UNSCANNED,
                    f"Chưa kiểm tra được thư ({names}), hãy thử lại sau",
                    f"The message could not be scanned now ({names}), try again later",
                )
            elif inspection.verdict is Verdict.CLEAN:
                inspection.verdict = Verdict.UNSCANNED

    def _judge_score(self, inspection: Inspection, score: float, *, inbound: bool) -> None:
        """R13.1, R3.1: `policy.spam` says what the score does; the inspection records it."""
        judged = judge_score(
            score, inbound=inbound, allowed=inspection.allowed, thresholds=thresholds(self.settings)
        )
        if judged is not None:
            inspection.decide(_SCORE_ACTIONS[judged.action], Verdict.SPAM, judged.vi, judged.en)

    async def _alert(self, engine: EngineState) -> None:
        log.warning("%s could not scan a message: %s", engine.name, engine.detail)
        now = self.clock()
        last = self._alerted.get(engine.name)
        if last is not None and now - last < ALERT_EVERY:
            return
        self._alerted[engine.name] = now
        if self.alert is not None:
            try:
                await self.alert(engine.name, engine.detail)
            except Exception:
                log.exception("the alert about %s was not sent", engine.name)


_SCORE_ACTIONS = {
    ScoreAction.JUNK: Action.JUNK,
    ScoreAction.REJECT: Action.REJECT,
    ScoreAction.HOLD: Action.HOLD,
}


def thresholds(settings: ProtectionSettings) -> ScoreThresholds:
    """The score thresholds of R13.1 and R3.1, as the settings give them."""
    return ScoreThresholds(junk=settings.junk_score, reject=settings.reject_score, hold=settings.hold_score)


def _why(error: BaseException) -> str:
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    if isinstance(error, EngineError):
        return str(error) or type(error).__name__
    return f"{type(error).__name__}: {error}"


def _header(inspection: Inspection, settings: ProtectionSettings, *, inbound: bool) -> bytes:
    """X-Spam-Status and X-Spam-Score as mail clients' filters know them, our verdict, and the
    engines that could not scan."""
    lines: list[str] = []
    if inspection.score is not None:
        spam = inspection.action is Action.JUNK and inspection.verdict is Verdict.SPAM
        required = thresholds(settings).required(inbound=inbound)
        tests = ",".join(
            sorted(inspection.symbols, key=lambda s: -abs(inspection.symbols[s]))[:SYMBOLS_IN_HEADER]
        )
        lines.append(f"X-Spam-Score: {inspection.score:.2f}")
        lines.append(
            f"X-Spam-Status: {'Yes' if spam else 'No'}, score={inspection.score:.2f} "
            f"required={required:.2f}" + (f"\r\n\ttests={tests}" if tests else "")
        )
        if spam:
            lines.append("X-Spam-Flag: YES")
    if inspection.action is Action.JUNK:
        lines.append(f"X-HopThu-Verdict: {inspection.verdict.value}; {_ascii(inspection.en)}")
    failed = [engine.name for engine in inspection.engines if engine.state == "failed"]
    if failed:
        lines.append(f"X-HopThu-Scan: unscanned ({', '.join(failed)} failed)")
    return "".join(line + "\r\n" for line in lines).encode()


def _ascii(text: str) -> str:
    return "".join(ch for ch in text if 32 <= ord(ch) < 127)[:200]
