"""The DMARC aggregate reports we send (RFC 7489 §7.2, the XML of Appendix C).

Each day the MX's evaluations of the day before (Vietnam's day) are grouped per author domain; a
domain whose record asks for reports (`rua=mailto:…`) gets one gzip-compressed XML file attached to
a message whose subject and file name §7.2.1.1 prescribes. Where the report may go is decided here:
`mailto:` only, a size limit (`!10m`) honoured, and a destination outside the domain's own
organizational domain only when that domain agrees in the DNS (§7.1).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import gzip
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote
from xml.sax.saxutils import escape

from hopthu.config import Settings
from hopthu.policy.dates import VIETNAM
from hopthu.protection.verdicts import Action, Inspection, Verdict
from hopthu.smtp.authresults import Result
from hopthu.smtp.dmarc import DmarcRecord
from hopthu.smtp.dns import Resolver
from hopthu.smtp.orgdomain import organizational_domain
from hopthu.smtp.verify import Verdict as AuthVerdict

MAX_DESTINATIONS = 4  # rua URIs used per domain (§6.2: at least two must be supported)
MAX_RECORDS = 5_000  # rows per report: the most frequent first, the rest left out
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_LIMIT = re.compile(r"!(\d{1,15})([kmgt]?)", re.IGNORECASE)
_ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]{1,64}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)")


_FORWARDED = re.compile(rb"^(?:list-id|arc-seal)[ \t]*:", re.IGNORECASE | re.MULTILINE)
ARC_SYMBOLS = {
    "ARC_ALLOW": "allow",
    "ARC_REJECT": "reject",
    "ARC_INVALID": "invalid",
    "ARC_DNSFAIL": "dnsfail",
    "ARC_NA": "none",
}


def report_address(settings: Settings) -> str:
    """`protection.dmarc_report_address`, or dmarc-reports@ our main domain."""
    return (settings.protection.dmarc_report_address or f"dmarc-reports@{settings.server.domain}").lower()


@dataclass(frozen=True)
class Evaluation:
    """One message's DMARC evaluation as the report counts it (the key of a `dmarc_tally` row)."""

    domain: str
    source_ip: str
    disposition: str  # none | quarantine | reject: what we did because of DMARC
    dkim: str  # pass | fail: aligned DKIM
    spf: str  # pass | fail: aligned SPF
    spf_domain: str
    spf_result: str
    dkim_domain: str
    dkim_result: str
    arc: str = ""  # ARC_SYMBOLS' words for forwarded mail, "" otherwise


def evaluation(
    auth: AuthVerdict, inspection: Inspection, *, client_ip: str, header: bytes
) -> Evaluation | None:
    """What the report says of this message; None when DMARC reached no result to report (no
    single author domain, a DNS or record error)."""
    outcome = auth.dmarc
    if outcome.result not in (Result.PASS, Result.FAIL, Result.NONE) or not outcome.from_domain:
        return None
    disposition = "none"
    if inspection.verdict is Verdict.DMARC:
        disposition = "reject" if inspection.action is Action.REJECT else "quarantine"
    org = organizational_domain(outcome.from_domain)
    passing = [s for s in auth.dkim if s.result is Result.PASS]
    signature = next(
        (s for s in passing if organizational_domain(s.domain) == org),
        passing[0] if passing else (auth.dkim[0] if auth.dkim else None),
    )
    return Evaluation(
        domain=outcome.from_domain,
        source_ip=client_ip,
        disposition=disposition,
        dkim="pass" if outcome.dkim_aligned else "fail",
        spf="pass" if outcome.spf_aligned else "fail",
        spf_domain=auth.spf.domain,
        spf_result=auth.spf.result.value,
        dkim_domain=signature.domain if signature else "",
        dkim_result=signature.result.value if signature else "",
        arc=arc_result(inspection.symbols, header),
    )


def arc_result(symbols: dict[str, float], header: bytes) -> str:
    """rspamd's ARC verdict for mail a list or forwarder passed on (a List-Id or an ARC-Seal field);
    "" for mail sent straight to us, or when no engine judged the chain."""
    if not _FORWARDED.search(header):
        return ""
    return next((word for symbol, word in ARC_SYMBOLS.items() if symbol in symbols), "")


@dataclass(frozen=True)
class Destination:
    address: str
    domain: str  # lower case
    limit: int | None  # bytes the receiver takes at most, None: any


def destinations(rua: str) -> list[Destination]:
    """The `mailto:` URIs of a rua tag (§6.4: comma-separated, a `!size` suffix); others are skipped."""
    found: list[Destination] = []
    for uri in rua.split(","):
        uri = uri.strip()
        if not uri.lower().startswith("mailto:"):
            continue
        uri = uri[len("mailto:") :]
        limit = None
        bang = uri.rfind("!")
        if bang >= 0:
            match = _LIMIT.fullmatch(uri[bang:])
            if match:
                limit = int(match.group(1)) * _UNITS[match.group(2).lower()]
                uri = uri[:bang]
        address = unquote(uri.split("?", 1)[0])
        match = _ADDRESS.fullmatch(address)
        if match is None:
            continue
        found.append(Destination(address, match.group(1).lower(), limit))
        if len(found) >= MAX_DESTINATIONS:
            break
    return found


async def verified(policy_domain: str, destination: Destination, resolver: Resolver) -> bool:
    """§7.1: a destination in another organizational domain takes the reports only when it publishes
    `<policy domain>._report._dmarc.<its domain>` starting with v=DMARC1. Raises `DnsError`."""
    if organizational_domain(destination.domain) == organizational_domain(policy_domain):
        return True
    records = await resolver.txt(f"{policy_domain}._report._dmarc.{destination.domain}")
    return any(re.match(r"v\s*=\s*DMARC1\s*(;|$)", record) for record in records)


@dataclass(frozen=True)
class Row:
    """One group of evaluations with the same outcome (a row of `dmarc_tally`, summed over ARC)."""

    source_ip: str
    count: int
    disposition: str
    dkim: str
    spf: str
    spf_domain: str
    spf_result: str
    dkim_domain: str
    dkim_result: str


def day_range(day: dt.date) -> tuple[int, int]:
    """The Vietnam day as the report's date_range: UTC seconds of its first and last second."""
    start = dt.datetime.combine(day, dt.time(), VIETNAM)
    return int(start.timestamp()), int(start.timestamp()) + 86_400 - 1


def report_id(day: dt.date, domain: str) -> str:
    return f"{day:%Y%m%d}.{domain}"


def feedback_xml(
    *,
    org_name: str,
    contact: str,
    day: dt.date,
    domain: str,
    record: DmarcRecord,
    found_at: str,
    rows: Sequence[Row],
) -> bytes:
    """The Appendix C document: report_metadata, policy_published and one record per row."""
    begin, end = day_range(day)
    published = record
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n  <version>1.0</version>\n',
        "  <report_metadata>\n",
        f"    <org_name>{escape(org_name)}</org_name>\n    <email>{escape(contact)}</email>\n",
        f"    <report_id>{escape(report_id(day, domain))}</report_id>\n",
        f"    <date_range><begin>{begin}</begin><end>{end}</end></date_range>\n  </report_metadata>\n",
        "  <policy_published>\n",
        f"    <domain>{escape(found_at)}</domain>\n",
        f"    <adkim>{published.dkim_alignment}</adkim>\n    <aspf>{published.spf_alignment}</aspf>\n",
        f"    <p>{published.policy}</p>\n    <sp>{published.subdomain_policy or published.policy}</sp>\n",
        f"    <pct>{published.pct}</pct>\n  </policy_published>\n",
    ]
    for row in rows[:MAX_RECORDS]:
        parts.append(
            "  <record>\n    <row>\n"
            f"      <source_ip>{escape(row.source_ip)}</source_ip>\n      <count>{row.count}</count>\n"
            f"      <policy_evaluated><disposition>{row.disposition}</disposition>"
            f"<dkim>{row.dkim}</dkim><spf>{row.spf}</spf></policy_evaluated>\n    </row>\n"
            f"    <identifiers><header_from>{escape(domain)}</header_from></identifiers>\n"
            "    <auth_results>\n"
        )
        if row.dkim_domain:
            parts.append(
                f"      <dkim><domain>{escape(row.dkim_domain)}</domain>"
                f"<result>{_dkim_word(row.dkim_result)}</result></dkim>\n"
            )
        parts.append(
            f"      <spf><domain>{escape(row.spf_domain)}</domain>"
            f"<result>{_spf_word(row.spf_result)}</result></spf>\n"
            "    </auth_results>\n  </record>\n"
        )
    parts.append("</feedback>\n")
    return "".join(parts).encode()


def _dkim_word(result: str) -> str:
    return result if result in ("none", "pass", "fail", "neutral", "temperror", "permerror") else "none"


def _spf_word(result: str) -> str:
    words = ("none", "neutral", "pass", "fail", "softfail", "temperror", "permerror")
    return result if result in words else "none"


def report_message(
    *,
    our_domain: str,
    sender: str,
    recipients: Sequence[str],
    day: dt.date,
    domain: str,
    xml: bytes,
    now: dt.datetime,
) -> bytes:
    """§7.2.1.1: Subject "Report Domain: … Submitter: … Report-ID: <…>", the gzip file named
    receiver!policy-domain!begin!end.xml.gz, a short human-readable part before it."""
    begin, end = day_range(day)
    ident = report_id(day, domain)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = f"Report Domain: {domain} Submitter: {our_domain} Report-ID: <{ident}>"
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid("dmarc", domain=our_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"DMARC aggregate report from {our_domain} for {domain}, {day.isoformat()} (UTC+07:00).\n"
    )
    message.add_attachment(
        gzip.compress(xml, mtime=0),
        maintype="application",
        subtype="gzip",
        filename=f"{our_domain}!{domain}!{begin}!{end}.xml.gz",
    )
    return message.as_bytes(policy=email.policy.SMTP)
