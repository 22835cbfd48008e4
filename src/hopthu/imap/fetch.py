"""FETCH (RFC 9051 §6.4.5, §7.5.2; BINARY RFC 3516; MODSEQ RFC 7162): data items from stored columns.

ENVELOPE and BODYSTRUCTURE come from the JSON kept at delivery and are never parsed again. Sections
are byte ranges of the stored message (our delivery headers, then the body as it arrived); a fetch
that needs only the header decompresses only the header. What a plan needs is decided once per
command, so fetching flags for 50,000 messages reads three small columns and no body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hopthu.imap import commands as c
from hopthu.imap import responses as r
from hopthu.imap.responses import ImapRefusal, date_time, flag_list
from hopthu.mail import DecodeError, binary, bodystructure_imap, envelope_imap, nul_safe, section_range
from hopthu.store.types import MessageField, StoredMessage

_ITEM_COLUMNS: dict[str, tuple[MessageField, ...]] = {
    "FLAGS": ("flags", "keywords"),
    "INTERNALDATE": ("internal_date",),
    "RFC822.SIZE": ("size",),
    "ENVELOPE": ("envelope",),
    "BODYSTRUCTURE": ("structure",),
    "BODY": ("structure",),
    "MODSEQ": ("modseq",),
    "UID": (),
}
_BODY_COLUMNS: tuple[MessageField, ...] = ("blob_hash", "prefix", "structure", "header_end", "size")
_SETS_SEEN = frozenset({"RFC822", "RFC822.TEXT"})
_HEADER_ONLY = frozenset({"HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT"})
_FIELD_LINE = re.compile(rb"\r\n(?![ \t])")


@dataclass(slots=True)
class FetchPlan:
    """What one FETCH command needs: stored fields, whether bodies (or only headers) are read, \\Seen."""

    attributes: tuple[c.FetchAttribute, ...]
    fields: frozenset[MessageField]
    body: str  # "" (none), "header" or "full"
    sets_seen: bool

    @classmethod
    def of(cls, attributes: tuple[c.FetchAttribute, ...], *, uid: bool, condstore: bool) -> FetchPlan:
        items = list(attributes)
        names = {a.name for a in items}
        if uid and "UID" not in names:  # RFC 9051 §6.4.9: UID FETCH always answers the UID
            items.insert(0, c.FetchAttribute("UID"))
        if condstore and "MODSEQ" not in names:  # RFC 7162 §3.1.4.1
            items.append(c.FetchAttribute("MODSEQ"))
        wanted: set[MessageField] = {"flags", "keywords", "modseq"}
        body = ""
        sets_seen = False
        for item in items:
            wanted.update(_ITEM_COLUMNS.get(item.name, ()))
            if _reads_body(item):
                wanted.update(_BODY_COLUMNS)
                header_only = item.name == "RFC822.HEADER" or (
                    item.name == "BODY" and item.section is not None
                    and not item.section.part and item.section.text in _HEADER_ONLY
                )  # fmt: skip
                body = "full" if body == "full" or not header_only else "header"
                sets_seen |= (item.name in ("BODY", "BINARY") and not item.peek) or item.name in _SETS_SEEN
        return cls(tuple(items), frozenset(wanted), body, sets_seen)


def _reads_body(item: c.FetchAttribute) -> bool:
    if item.name in ("BODY", "BINARY", "BINARY.SIZE"):
        return item.section is not None
    return item.name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT")


def render(plan: FetchPlan, seq: int, row: StoredMessage, data: bytes | None) -> bytes:
    """`* seq FETCH (...)`; `data` is the message (or only its header when the plan says so)."""
    return r.fetch(seq, (_item(item, row, data) for item in plan.attributes))


def whole_message(plan: FetchPlan) -> c.FetchAttribute | None:
    """The item asking for the whole message (BODY[], BODY.PEEK[], RFC822) when it is the only one
    that reads the body: it can then be streamed from the blob store instead of read into memory."""
    readers = [item for item in plan.attributes if _reads_body(item)]
    if len(readers) != 1:
        return None
    item = readers[0]
    whole = item.name == "RFC822" or (
        item.name == "BODY" and item.section == c.Section() and item.partial is None
    )
    return item if whole else None


def streamed_head(plan: FetchPlan, seq: int, row: StoredMessage, whole: c.FetchAttribute) -> bytes:
    """A FETCH answer up to the literal of `whole`; the message's octets and ")\r\n" follow."""
    others = [_item(item, row, None) for item in plan.attributes if item is not whole]
    label = b"RFC822" if whole.name == "RFC822" else b"BODY[]"
    return r.fetch_until_literal(seq, others, label, row.size)


def _item(item: c.FetchAttribute, row: StoredMessage, data: bytes | None) -> bytes:
    name = item.name
    if name == "UID":
        return b"UID %d" % row.uid
    if name == "FLAGS":
        return b"FLAGS " + flag_list(row.flags, row.keywords)
    if name == "INTERNALDATE":
        return b"INTERNALDATE " + date_time(row.internal_date)
    if name == "RFC822.SIZE":
        return b"RFC822.SIZE %d" % row.size
    if name == "ENVELOPE":
        return b"ENVELOPE " + envelope_imap(row.envelope)
    if name == "BODYSTRUCTURE":
        return b"BODYSTRUCTURE " + bodystructure_imap(row.structure)
    if name == "MODSEQ":
        return b"MODSEQ (%d)" % row.modseq
    if name == "BODY" and item.section is None:
        return b"BODY " + bodystructure_imap(row.structure, extensible=False)
    assert data is not None
    if name == "RFC822":
        return b"RFC822 " + r.literal(nul_safe(data))
    if name == "RFC822.HEADER":
        return b"RFC822.HEADER " + r.literal(nul_safe(data[: _shift(row) + row.header_end]))
    if name == "RFC822.TEXT":
        return b"RFC822.TEXT " + r.literal(nul_safe(data[_shift(row) + row.header_end :]))
    assert item.section is not None
    if name == "BODY":
        chunk = _section(item.section, row, data)
        label = b"BODY[" + _section_label(item.section) + b"]"
        return _partial(label, nul_safe(chunk), item.partial)
    number = ".".join(map(str, item.section.part))
    try:
        decoded = binary(data[_shift(row) :], row.structure, number)
    except DecodeError as error:
        raise ImapRefusal("Không giải mã được phần thư", error.args[-1], error.code) from None
    if not number:
        decoded = data[: _shift(row)] + decoded
    if name == "BINARY.SIZE":
        return b"BINARY.SIZE[%s] %d" % (number.encode(), len(decoded))
    label = b"BINARY[" + number.encode() + b"]"
    return _partial(label, decoded, item.partial, binary=True)


def _shift(row: StoredMessage) -> int:
    return len(row.prefix or b"")


def _section(section: c.Section, row: StoredMessage, data: bytes) -> bytes:
    """BODY[section] bytes; the stored offsets are of the body, after our delivery headers."""
    number = ".".join(map(str, section.part))
    text = section.text or ""
    ranged = "HEADER" if text.startswith("HEADER") else text
    spec = ".".join(p for p in (number, ranged) if p)
    found = section_range(row.structure, spec)
    if found is None:
        return b""
    shift = _shift(row)
    start, end = found
    start = 0 if start == 0 else start + shift
    chunk = data[start : end + shift]
    if text in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
        chunk = _header_fields(chunk, section.headers, keep=text == "HEADER.FIELDS")
    return chunk


def _header_fields(header: bytes, names: tuple[str, ...], *, keep: bool) -> bytes:
    """RFC 9051 §6.4.5 HEADER.FIELDS (.NOT): the matching fields, as they are, then a blank line."""
    wanted = {n.encode("utf-8").lower() for n in names}
    kept = []
    for field in _FIELD_LINE.split(header.rstrip(b"\r\n")):
        name = field.partition(b":")[0].strip().lower()
        if field and (name in wanted) == keep and b":" in field:
            kept.append(field + b"\r\n")
    return b"".join(kept) + b"\r\n"


def _section_label(section: c.Section) -> bytes:
    spec = ".".join([*map(str, section.part), *([section.text] if section.text else [])])
    if section.headers:
        spec += " (" + " ".join(section.headers) + ")"
    return spec.encode("utf-8")


def _partial(label: bytes, chunk: bytes, partial: c.Partial | None, *, binary: bool = False) -> bytes:
    if partial is not None:
        label += b"<%d>" % partial.offset
        chunk = chunk[partial.offset : partial.offset + partial.length]
    return label + b" " + r.literal(chunk, binary=binary)
