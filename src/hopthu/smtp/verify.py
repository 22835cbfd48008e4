"""The verdict on mail arriving from the internet: SPF, DKIM and DMARC, and whether it forges us.

One call per message received by the MX listener. SPF and the DKIM key lookups run side by side,
then DMARC judges the From: domain with both. Every DNS question goes through the given `Resolver`;
a DNS failure never raises, it becomes a temperror in the verdict.

The verdict is data: the delivery pipeline decides. It refuses (550 5.7.1, R3.2) a message whose
`forges_our_domain` is set; when `dmarc.result` is temperror at the same time, the failure may be
passing and a 451 4.7.1 is the fairer answer. `header` is the Authentication-Results field to store
beside the message (any such field already in the message that names our authserv-id is the
sender's forgery and should be removed, RFC 8601 §5).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from dataclasses import dataclass

from hopthu.mail.addresses import AddressError, read_author
from hopthu.policy.forgery import forges_our_domain, is_ours
from hopthu.smtp import dmarc, spf
from hopthu.smtp.authresults import Result, ResultInfo, render
from hopthu.smtp.dkimverify import DkimOutcome, check_signatures
from hopthu.smtp.dmarc import DmarcOutcome
from hopthu.smtp.dns import Resolver
from hopthu.smtp.orgdomain import ascii_domain
from hopthu.smtp.spf import SpfOutcome

_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


@dataclass(frozen=True)
class Verdict:
    spf: SpfOutcome
    dkim: tuple[DkimOutcome, ...]  # one per DKIM-Signature field, top first
    dmarc: DmarcOutcome
    header: bytes  # "Authentication-Results: …\r\n", folded
    forges_our_domain: bool  # From: is ours (or under ours) and DMARC alignment did not pass (R3.2)


def _author_domains(data: bytes) -> tuple[list[str], AddressError | None]:
    """The distinct domains of the From: mailboxes, read strictly (`mail.addresses.read_author`);
    or, when From:, Sender: or Reply-To: has no single clean reading, the refusal, whose domains
    are every domain those fields name anywhere (R3.2: a header read two ways must not name us)."""
    end = _BLANK_LINE.search(data)
    try:
        author = read_author(data[: end.end() if end else len(data)])
    except AddressError as error:
        return [], error
    domains: list[str] = []
    for mailbox in author.authors:
        domain = ascii_domain(mailbox.domain.lower())
        if domain not in domains:
            domains.append(domain)
    return domains, None


async def _judge_author(
    data: bytes,
    spf_outcome: SpfOutcome,
    signatures: tuple[DkimOutcome, ...],
    resolver: Resolver,
    our_domains: Collection[str],
) -> tuple[DmarcOutcome, bool]:
    """DMARC for the From: domain (RFC 7489 §6.6.1), and whether that domain is ours."""
    domains, refusal = _author_domains(data)
    if refusal is not None:
        named = [ascii_domain(domain) for domain in refusal.domains]
        ours = any(is_ours(domain, our_domains) for domain in named)
        # §6.6.1: no single author domain. A header that names us anywhere and reads two ways is
        # treated as forging us, whatever its alignment (R3.2).
        reason = f"ambiguous author fields: {refusal.reason}"
        first = next((d for d in named if is_ours(d, our_domains)), named[0] if named else "")
        return DmarcOutcome(Result.PERMERROR, first, "reject" if ours else None, False, False, reason), ours
    ours = any(is_ours(domain, our_domains) for domain in domains)
    if len(domains) != 1 or not spf.valid_domain(domains[0]):
        # §6.6.1: several author domains (with a Sender:), or one that is no domain name.
        reason = f"From: with {len(domains)} domains"
        first = domains[0] if domains else ""
        return DmarcOutcome(Result.PERMERROR, first, "reject" if ours else None, False, False, reason), ours
    outcome = await dmarc.evaluate(
        domains[0],
        spf=(spf_outcome.result, spf_outcome.domain),
        dkim=[(s.result, s.domain) for s in signatures],
        resolver=resolver,
        our_domains=our_domains,
    )
    return outcome, ours


def _header(
    authserv_id: str,
    mail_from: str,
    helo: str,
    spf_outcome: SpfOutcome,
    signatures: tuple[DkimOutcome, ...],
    dmarc_outcome: DmarcOutcome,
) -> bytes:
    """RFC 8601 §2.7: spf with smtp.mailfrom (or smtp.helo), dkim per signature, dmarc with
    header.from (RFC 7489 §11.2)."""
    identity = ("smtp.mailfrom", mail_from) if mail_from else ("smtp.helo", helo)
    results = [ResultInfo("spf", spf_outcome.result, (identity,), spf_outcome.reason)]
    results += [
        ResultInfo("dkim", s.result, (("header.d", s.domain), ("header.s", s.selector)), s.reason)
        for s in signatures
    ] or [ResultInfo("dkim", Result.NONE)]
    comment = "; ".join(
        part
        for part in (f"p={dmarc_outcome.policy}" if dmarc_outcome.policy else "", dmarc_outcome.reason)
        if part
    )
    author = (("header.from", dmarc_outcome.from_domain),)
    results.append(ResultInfo("dmarc", dmarc_outcome.result, author, comment))
    return render(authserv_id, results)


async def verify_inbound(
    data: bytes,
    *,
    client_ip: str,
    helo: str,
    mail_from: str,
    resolver: Resolver,
    authserv_id: str,
    our_domains: Collection[str],
) -> Verdict:
    """SPF for the envelope (RFC 7208), DKIM for each signature (RFC 6376), DMARC for the author
    (RFC 7489), summed up in one Authentication-Results header (RFC 8601).

    `mail_from` is the MAIL FROM address without angle brackets, "" for the null sender; `client_ip`
    must be an IP address (ValueError otherwise); `our_domains` are the domains we are the
    authority for (the main one and its aliases, R13.7).
    """
    mail_from = "" if mail_from in ("", "<>") else mail_from
    ours = {ascii_domain(domain) for domain in our_domains}
    spf_outcome, signatures = await asyncio.gather(
        spf.check_host(client_ip, mail_from, helo=helo, resolver=resolver),
        check_signatures(data, resolver),
    )
    dmarc_outcome, from_ours = await _judge_author(data, spf_outcome, signatures, resolver, ours)
    return Verdict(
        spf=spf_outcome,
        dkim=signatures,
        dmarc=dmarc_outcome,
        header=_header(authserv_id, mail_from, helo, spf_outcome, signatures, dmarc_outcome),
        forges_our_domain=forges_our_domain(claims_ours=from_ours, aligned=dmarc_outcome.aligned),
    )
