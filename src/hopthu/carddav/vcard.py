"""One entry of the address book as a vCard 3.0 (RFC 2426), the version every CardDAV client
reads (RFC 6352 §6.3.3 requires servers to offer it).

Pure: an `Entry` in, text out. A person's card has their own name (FN, N in family;given;middle
order), their agency as ORG (a sub-unit after its agency), their job title as TITLE when the
directory knows it, the address; an agency mailbox's card is
an organisation's. The UID is derived from the account's id, so a renamed or moved person keeps
their card; REV is the last change the record dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from hopthu.directory.book import Entry

LINE_OCTETS = 75  # RFC 2426 §2.6 (RFC 2425 §5.8.1): longer lines are folded
_NAMESPACE = uuid.UUID("5b0e1c64-1f0a-4c43-9d7e-6a9f3c1e2b70")  # this system's cards


def uid_of(domain: str, account_id: int) -> str:
    """A stable UID for an account's card (the same on every node and after every restart)."""
    return str(uuid.uuid5(_NAMESPACE, f"{domain}/account/{account_id}"))


def escape(value: str) -> str:
    """A text value with `\\`, `,`, `;` and line breaks escaped (RFC 2426 §4)."""
    value = " ".join(value.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


def fold(line: str) -> str:
    """A content line folded at 75 octets, never inside a UTF-8 character (RFC 2425 §5.8.1)."""
    data = line.encode()
    if len(data) <= LINE_OCTETS:
        return line
    pieces: list[str] = []
    start, limit = 0, LINE_OCTETS
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte: step back
            end -= 1
        pieces.append(data[start:end].decode())
        start, limit = end, LINE_OCTETS - 1  # continuation lines begin with a space
    return "\r\n ".join(pieces)


def _stamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def card(entry: Entry, domain: str) -> str:
    """The vCard of `entry`, CRLF line ends, folded."""
    address = f"{entry.local}@{domain}"
    organisation = [entry.parent_name, entry.agency_name] if entry.parent_name else [entry.agency_name]
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:urn:uuid:{uid_of(domain, entry.id)}"]
    if entry.kind == "personal":
        lines += [
            f"FN:{escape(entry.name)}",
            f"N:{escape(entry.family)};{escape(entry.given)};{escape(entry.middle)};;",
            f"ORG:{';'.join(escape(part) for part in organisation)}",
        ]
        if entry.job_title:
            lines.append(f"TITLE:{escape(entry.job_title)}")  # RFC 2426 §3.5.1
    else:  # an agency (shared) mailbox: the card of an organisation
        lines += [
            f"FN:{escape(entry.display_name)}",
            "N:;;;;",
            f"ORG:{escape(entry.display_name)}",
            "X-ABSHOWAS:COMPANY",
        ]
    lines += [f"EMAIL;TYPE=INTERNET,WORK:{address}", f"REV:{_stamp(entry.revised_at)}", "END:VCARD"]
    return "".join(fold(line) + "\r\n" for line in lines)


def etag_of(text: str) -> str:
    """The card's entity tag, quoted (RFC 9110 §8.8.3): the same text, the same tag on every node."""
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'
