"""The daily DMARC aggregate reports (RFC 7489 §7.2) for the domains whose mail the MX judged.

Once a day (the job's slot) the evaluations of the day before, Vietnam's day, are grouped per author
domain; each domain whose DMARC record asks for reports (`rua=mailto:`) gets one, sent through the
pipeline like any mail that leaves (signed, queued, retried). A destination outside the domain's
organizational domain must agree in the DNS (§7.1); one whose size limit the message passes is left
out. What became of each domain's report is written to `dmarc_sent` before the next one, so a run
again (or a node taking over) never sends a report twice. At most `MAX_DOMAINS` domains a day, those
with the most mail, so a flood of forged senders cannot make the job send without end.
"""

from __future__ import annotations

import datetime as dt
import logging

from hopthu.jobs.base import JobContext
from hopthu.policy.dates import VIETNAM
from hopthu.protection import aggregate
from hopthu.smtp.dmarc import InvalidRecord, find_policy
from hopthu.smtp.dns import DnsError
from hopthu.smtp.pipeline import Incoming
from hopthu.store import dmarc as tables

log = logging.getLogger("hopthu.dmarc")
MAX_DOMAINS = 2_000


async def aggregate_reports(ctx: JobContext) -> dict[str, int]:
    settings = ctx.settings
    counts = {"sent": 0, "too_large": 0, "unverified": 0, "dns_error": 0}
    if not settings.protection.dmarc_reports:
        return counts
    pipeline = ctx.services.pipeline
    db = ctx.services.store.db
    await pipeline.dmarc.flush()  # the last minute's counts belong to the report too
    day = ctx.now.astimezone(VIETNAM).date() - dt.timedelta(days=1)
    done = await tables.reported(db, day)
    our_domain = settings.server.domain
    sender = aggregate.report_address(settings)
    for domain, rows in (await tables.day_rows(db, day, limit_domains=MAX_DOMAINS)).items():
        if domain in done:
            continue
        status, recipients = await _send(ctx, day, domain, rows, our_domain=our_domain, sender=sender)
        if status is None:
            continue  # the domain asks for no reports
        counts[status] += 1
        await tables.record_sent(
            db,
            day=day,
            domain=domain,
            at=ctx.now,
            report_id=aggregate.report_id(day, domain),
            status="queued" if status == "sent" else status,
            recipients=recipients,
            messages=sum(row.count for row in rows),
            records=min(len(rows), aggregate.MAX_RECORDS),
        )
    return counts


async def _send(
    ctx: JobContext, day: dt.date, domain: str, rows: list[aggregate.Row], *, our_domain: str, sender: str
) -> tuple[str | None, list[str]]:
    """Build and queue one domain's report; its status ("sent", "too_large", "unverified",
    "dns_error") and the addresses it went to, or None when the domain wants no report."""
    pipeline = ctx.services.pipeline
    resolver = pipeline.resolver
    try:
        found = await find_policy(domain, resolver)
    except DnsError:
        return "dns_error", []
    except InvalidRecord:
        return None, []
    if found is None or not found[0].rua:
        return None, []
    record, found_at = found
    wanted = aggregate.destinations(record.rua)
    if not wanted:
        return None, []
    usable = []
    try:
        for destination in wanted:
            if await aggregate.verified(found_at, destination, resolver):
                usable.append(destination)
    except DnsError:
        return "dns_error", []
    if not usable:
        return "unverified", []
    xml = aggregate.feedback_xml(
        org_name=our_domain,
        contact=sender,
        day=day,
        domain=domain,
        record=record,
        found_at=found_at,
        rows=rows,
    )
    addresses = [d.address for d in usable]
    message = aggregate.report_message(
        our_domain=our_domain,
        sender=sender,
        recipients=addresses,
        day=day,
        domain=domain,
        xml=xml,
        now=ctx.now,
    )
    fitting = [d.address for d in usable if d.limit is None or len(message) <= d.limit]
    if not fitting:
        return "too_large", []
    outcome = await pipeline.accept(Incoming(message, sender, fitting, "system", received_at=ctx.now))
    if not outcome.accepted:
        raise RuntimeError(f"the report for {domain} was not queued: {outcome.kind.value}, {outcome.en}")
    return "sent", fitting
