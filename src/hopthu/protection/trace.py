"""The mail log entry of one message: what identifies it, what was concluded, what became of it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from hopthu.mail import ParsedMessage
from hopthu.mail.envelope import Envelope
from hopthu.protection.verdicts import Inspection
from hopthu.store.maillog import LogEntry

MAX_RECEIVED = 30  # Received fields kept per message (a loop would have hundreds)
MAX_FIELD = 1000  # characters kept of each header value
_RECEIVED = re.compile(rb"(?im)^received:[ \t]*((?:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*))")


def _addresses(envelope: Envelope, key: str) -> list[str]:
    found = []
    for address in envelope.get(key) or []:
        if len(address) >= 4 and address[2] is not None and address[3] is not None:
            found.append(f"{address[2]}@{address[3]}")
        if len(found) >= 100:
            break
    return found


def received_chain(header: bytes) -> list[str]:
    chain = []
    for match in _RECEIVED.finditer(header):
        chain.append(" ".join(match.group(1).decode("latin-1").split())[:MAX_FIELD])
        if len(chain) >= MAX_RECEIVED:
            break
    return chain


def entry(
    *,
    at: dt.datetime,
    channel: str,
    client_ip: str,
    helo: str,
    mail_from: str,
    recipients: Sequence[str],
    data: bytes,
    parsed: ParsedMessage | None,
    prefix: bytes,
    inspection: Inspection | None,
    auth: dict[str, Any] | None,
    outcome: str,
    verdict: str | None = None,
    account_id: int | None = None,
    reply: str = "",
) -> LogEntry:
    envelope = parsed.envelope if parsed is not None else {}
    header = prefix + (data[: parsed.header_end] if parsed is not None else b"")
    from_ = _addresses(envelope, "from")
    details: dict[str, Any] = {
        "helo": helo[:255],
        "to": _addresses(envelope, "to"),
        "cc": _addresses(envelope, "cc"),
        "date": (envelope.get("date") or "")[:MAX_FIELD],
        "received": received_chain(header),
    }
    if auth:
        details["auth"] = auth
    if reply:
        details["reply"] = reply[:MAX_FIELD]
    if inspection is not None:
        if inspection.symbols:
            details["symbols"] = {name: round(score, 2) for name, score in inspection.symbols.items()}
        if inspection.virus:
            details["virus"] = inspection.virus
        details["engines"] = {engine.name: engine.state for engine in inspection.engines}
        if inspection.en:
            details["why"] = inspection.en
    return LogEntry(
        at=at,
        direction="in" if channel == "mx" else "out",
        channel=channel,
        client_ip=client_ip,
        mail_from=mail_from,
        recipients=list(recipients)[:1000],
        header_from=from_[0] if from_ else "",
        subject=parsed.subject if parsed is not None else "",
        message_id=(parsed.message_id or "") if parsed is not None else "",
        size=len(data),
        verdict=verdict or (inspection.verdict.value if inspection is not None else "clean"),
        outcome=outcome,
        score=inspection.score if inspection is not None else None,
        account_id=account_id,
        details=details,
    )
