"""The message a delivery report returns (RFC 6522 §3): the part of a `multipart/report` after its
text and its machine-readable status, which carries the original's header (`text/rfc822-headers`)
or the whole original (`message/rfc822`).

A reader wants to know which of their letters came back, not to read its DKIM signature and its
encoded words: `returned` reads that header once, decoded, into the four fields that say so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .canonical import canonical
from .decode import lenient_body
from .envelope import address_text, display_name
from .message import parse
from .structure import Node

HEADER_LIMIT = 64 * 1024  # octets of a returned header read; a header is a few kilobytes
_RETURNED_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)


@dataclass(frozen=True, slots=True)
class Returned:
    """The returned message as people read its header (names decoded, "" when absent)."""

    sender: str
    to: list[str]
    subject: str
    date: dt.datetime | None


def _type(node: Node) -> str:
    return f"{node.get('type', '')}/{node.get('subtype', '')}".lower()


def _reports(node: Node) -> list[Node]:
    """Every multipart/report in the message, outermost first (a report may be forwarded)."""
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current["kind"] == "multipart" and _type(current) == "multipart/report":
            found.append(current)
        stack.extend(reversed(current.get("parts") or []))
    return found


def returned_part(structure: Node) -> Node | None:
    """The part of a report that carries the returned message, or None when it has none."""
    for report in _reports(structure):
        for child in (report.get("parts") or [])[1:]:
            if _type(child) in _RETURNED_TYPES:
                found: Node = child
                return found
    return None


def within(node: Node, part: Node) -> bool:
    """Whether `node` lies inside `part` (its bytes are part of the part's)."""
    return bool(part["start"] <= node["start"] and node["end"] <= part["end"])


def _header_block(data: bytes, part: Node) -> bytes:
    """The returned header's octets: the enclosed message's header, or the headers part's body."""
    if part["kind"] == "message" and part.get("parts"):
        inner = part["parts"][0]
        return data[inner["start"] : min(inner["body_start"], inner["start"] + HEADER_LIMIT)]
    return lenient_body(data, part, HEADER_LIMIT)


def returned(data: bytes, structure: Node) -> Returned | None:
    """From, To, Subject and Date of the message a report returns, decoded; None for other mail."""
    part = returned_part(structure)
    if part is None:
        return None
    header = _header_block(data, part).rstrip(b"\r\n")
    if not header:
        return None
    parsed = parse(canonical(header + b"\r\n\r\n"))
    people = []
    for address in parsed.envelope.get("to") or []:
        name, mailbox = display_name(address), address_text(address)
        if mailbox:
            people.append(f"{name} <{mailbox}>" if name else mailbox)
    return Returned(parsed.from_, people, parsed.subject, parsed.date)
