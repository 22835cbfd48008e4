"""DMARC (RFC 7489): does the author's domain in From: stand behind this message?

The From: domain is the one people read, so it passes only when an SPF or DKIM result that passed
was for a domain aligned with it (§3.1). The domain's owner publishes at `_dmarc.<domain>` (or at
its organizational domain, §6.6.3) what to do when it does not: none, quarantine or reject.

Our own domains (`policy.forgery.is_ours`) are a special case decided by R3.2: their policy is
ours, so mail claiming to come from them is judged as under p=reject even if no record is found in
the DNS, and is evaluated (pass or fail) rather than reported as "none".
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from hopthu.policy.forgery import is_ours
from hopthu.smtp.authresults import Result
from hopthu.smtp.dns import DnsError, Resolver
from hopthu.smtp.orgdomain import organizational_domain

POLICIES = ("none", "quarantine", "reject")
# The value is stripped after the match: a lazy `(.*?)\s*` before the end retried the spaces once per
# character (a record of 16,000 spaces from a sender's own DNS took 4 s on the event loop).
_TAG = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*=(.*)", re.DOTALL)


@dataclass(frozen=True)
class DmarcRecord:
    """The tags of §6.3 that decide a result, and those the aggregate reports need. pct is read for
    the reports' policy_published only: a policy is applied to all failing mail, not to a sample
    (a forged ministry message must not reach the inbox by the luck of the draw)."""

    policy: str
    subdomain_policy: str | None = None
    dkim_alignment: str = "r"  # adkim
    spf_alignment: str = "r"  # aspf
    # Reporting only (they decide no result, so two records differing in them judge alike):
    pct: int = field(default=100, compare=False)
    rua: str = field(default="", compare=False)  # where aggregate reports go (§6.3, §7.1)


_RELAXED = DmarcRecord("none")  # the alignment modes that apply when no record can be used


@dataclass(frozen=True)
class DmarcOutcome:
    result: Result
    from_domain: str
    policy: str | None  # what applies to from_domain: published, or "reject" for ours; else None
    spf_aligned: bool
    dkim_aligned: bool
    reason: str = ""

    @property
    def aligned(self) -> bool:
        return self.spf_aligned or self.dkim_aligned


class _Invalid(Exception):
    """A DMARC record that cannot be used (§6.6.3 step 6 without a usable rua)."""


InvalidRecord = _Invalid  # for callers that look a record up themselves (the aggregate reports)


def parse_record(text: str) -> DmarcRecord:
    """A record that starts with v=DMARC1 (§6.4), or `_Invalid`; unknown tags are ignored (§6.3)."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        match = _TAG.fullmatch(part)
        if not match:
            raise _Invalid(f"bad tag {part.strip()!r}")
        tags.setdefault(match.group(1).lower(), match.group(2).strip())
    policy = tags.get("p", "").lower()
    subdomain_policy = tags.get("sp", "").lower() or None
    if policy not in POLICIES or (subdomain_policy and subdomain_policy not in POLICIES):
        if "rua" not in tags:
            raise _Invalid("no valid p= tag")
        policy, subdomain_policy = "none", None  # §6.6.3 step 6: reports wanted, act as p=none
    adkim, aspf = tags.get("adkim", "r").lower(), tags.get("aspf", "r").lower()
    if adkim not in ("r", "s") or aspf not in ("r", "s"):
        raise _Invalid("bad adkim or aspf")
    pct = tags.get("pct", "100")
    return DmarcRecord(
        policy,
        subdomain_policy,
        adkim,
        aspf,
        pct=int(pct) if pct.isdigit() and int(pct) <= 100 else 100,
        rua=tags.get("rua", "")[:2000],
    )


async def _record_at(domain: str, resolver: Resolver) -> DmarcRecord | None:
    """§6.6.3 steps 1-3: exactly one record starting with v=DMARC1, or none."""
    records = [r for r in await resolver.txt(f"_dmarc.{domain}") if re.match(r"v\s*=\s*DMARC1\s*(;|$)", r)]
    return parse_record(records[0]) if len(records) == 1 else None


async def find_policy(domain: str, resolver: Resolver) -> tuple[DmarcRecord, str] | None:
    """The record for `domain` and the domain it was found at: its own, else its organizational
    domain's (§6.6.3). Raises `DnsError` when the DNS does not answer, `_Invalid` for a bad record."""
    record = await _record_at(domain, resolver)
    if record is not None:
        return record, domain
    org = organizational_domain(domain)
    if org != domain:
        record = await _record_at(org, resolver)
        if record is not None:
            return record, org
    return None


def aligned(identifier: str, from_domain: str, mode: str) -> bool:
    """§3.1.1-3.1.2: strict is the same name; relaxed is the same organizational domain."""
    if mode == "s":
        return identifier == from_domain
    return organizational_domain(identifier) == organizational_domain(from_domain)


def _any_aligned(result: Result, checks: Sequence[tuple[Result, str, str]], from_domain: str) -> bool:
    return any(r is result and aligned(d, from_domain, mode) for r, d, mode in checks)


async def evaluate(
    from_domain: str,
    *,
    spf: tuple[Result, str],
    dkim: Sequence[tuple[Result, str]],
    resolver: Resolver,
    our_domains: Collection[str],
) -> DmarcOutcome:
    """§6.6: the DMARC result for one author domain, given SPF's (result, domain) and each DKIM
    signature's (result, signing domain). Without a usable record, alignment is relaxed (§6.3)."""
    ours = is_ours(from_domain, our_domains)
    found, error, reason = None, None, ""
    try:
        found = await find_policy(from_domain, resolver)
    except DnsError as failure:
        error, reason = Result.TEMPERROR, str(failure)
    except _Invalid as failure:
        error, reason = Result.PERMERROR, str(failure)
    record = found[0] if found else _RELAXED
    spf_check = [(spf[0], spf[1], record.spf_alignment)]
    dkim_checks = [(r, d, record.dkim_alignment) for r, d in dkim]
    spf_aligned = _any_aligned(Result.PASS, spf_check, from_domain)
    dkim_aligned = _any_aligned(Result.PASS, dkim_checks, from_domain)
    policy = "reject" if ours else None
    if found:
        at = found[1]
        # §6.3 sp: a record found at the organizational domain speaks for its subdomains by sp=.
        policy = record.subdomain_policy if at != from_domain and record.subdomain_policy else record.policy
    if error:
        result = error
    elif not found and not ours:
        result, reason = Result.NONE, "no DMARC record"
    elif spf_aligned or dkim_aligned:
        result = Result.PASS
    elif _any_aligned(Result.TEMPERROR, spf_check + dkim_checks, from_domain):
        result, reason = Result.TEMPERROR, "an aligned check could not be completed"
    else:
        result, reason = Result.FAIL, "no aligned SPF or DKIM pass"
    return DmarcOutcome(result, from_domain, policy, spf_aligned, dkim_aligned, reason)
