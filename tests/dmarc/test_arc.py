"""ARC results (rspamd's ARC_* symbols) counted for mail that lists and forwarders passed on, per
day in `dmarc_tally`, as the portal's DMARC page reads them; mail sent straight to us is not."""

from __future__ import annotations

import datetime as dt

from hopthu.policy.dates import VIETNAM
from hopthu.protection.aggregate import evaluation
from hopthu.protection.verdicts import Action, Inspection, Verdict
from hopthu.smtp.authresults import Result
from hopthu.smtp.dmarc import DmarcOutcome
from hopthu.smtp.spf import SpfOutcome
from hopthu.smtp.verify import Verdict as AuthVerdict
from hopthu.store import Store
from hopthu.store.dmarc import DmarcTally, arc_per_day, day_rows
from tests.conftest import Clock

LIST = b"From: a@lists.example\r\nList-Id: <news.lists.example>\r\nSubject: x\r\n\r\n"
SEALED = b"From: a@lists.example\r\nARC-Seal: i=1; a=rsa-sha256; cv=none; d=fwd.example\r\n\r\n"
DIRECT = b"From: a@lists.example\r\nSubject: x\r\n\r\n"


def auth(result: Result = Result.PASS) -> AuthVerdict:
    passed = result is Result.PASS
    return AuthVerdict(
        spf=SpfOutcome(result, "lists.example"),
        dkim=(),
        dmarc=DmarcOutcome(result, "lists.example", "reject", passed, False),
        header=b"",
        forges_our_domain=False,
    )


def test_arc_words_for_forwarded_mail_only() -> None:
    def arc(symbols: dict[str, float], header: bytes) -> str | None:
        found = evaluation(auth(), Inspection(symbols=symbols), client_ip="192.0.2.7", header=header)
        return found.arc if found is not None else None

    assert arc({"ARC_ALLOW": -1.0, "DMARC_POLICY_ALLOW": -0.5}, LIST) == "allow"
    assert arc({"ARC_REJECT": 1.0}, SEALED) == "reject"
    assert arc({"ARC_INVALID": 0.5}, LIST) == "invalid"
    assert arc({"ARC_DNSFAIL": 0.0}, LIST) == "dnsfail"
    assert arc({"ARC_NA": 0.0}, LIST) == "none"  # a list that seals nothing
    assert arc({"ARC_NA": 0.0}, DIRECT) == ""  # sent straight to us: not forwarded
    assert arc({}, LIST) == ""  # no engine judged it


def test_dmarc_disposition_follows_what_was_done() -> None:
    refused = Inspection()
    refused.decide(Action.REJECT, Verdict.DMARC, "vi", "en")
    junk = Inspection()
    junk.decide(Action.JUNK, Verdict.DMARC, "vi", "en")
    spam = Inspection()
    spam.decide(Action.REJECT, Verdict.SPAM, "vi", "en")
    words = [
        evaluation(auth(Result.FAIL), inspection, client_ip="192.0.2.7", header=DIRECT).disposition
        for inspection in (refused, junk, spam, Inspection())
    ]
    assert words == ["reject", "quarantine", "none", "none"]
    assert evaluation(auth(Result.TEMPERROR), Inspection(), client_ip="192.0.2.7", header=DIRECT) is None


async def test_arc_counts_per_day_through_the_tally(store: Store) -> None:
    clock = Clock(dt.datetime(2026, 3, 2, 20, 0, tzinfo=dt.UTC))  # 03:00 on 3 March in Vietnam
    tally = DmarcTally(store.db, clock)
    for symbols, header in [
        ({"ARC_ALLOW": -1.0}, LIST),
        ({"ARC_ALLOW": -1.0}, SEALED),
        ({"ARC_REJECT": 2.0}, LIST),
        ({"ARC_NA": 0.0}, DIRECT),
    ]:
        tally.count(evaluation(auth(), Inspection(symbols=symbols), client_ip="192.0.2.7", header=header))
    await tally.flush()
    tally.count(
        evaluation(auth(), Inspection(symbols={"ARC_ALLOW": -1.0}), client_ip="192.0.2.7", header=LIST)
    )
    await tally.flush()  # added to the same row
    day = clock().astimezone(VIETNAM).date()
    assert day == dt.date(2026, 3, 3)
    counts = await arc_per_day(store.db, day - dt.timedelta(days=7), day)
    assert counts == {day: {"allow": 3, "reject": 1, "invalid": 0, "dnsfail": 0, "none": 0}}
    (row,) = (await day_rows(store.db, day, limit_domains=10))["lists.example"]  # ARC summed away
    assert (row.count, row.disposition, row.spf, row.dkim, row.source_ip) == (
        5,
        "none",
        "pass",
        "fail",
        "192.0.2.7",
    )
