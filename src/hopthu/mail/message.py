"""`parse`: a message read once, at delivery, into the values every other room uses.

The store keeps `envelope` and `structure` as JSON, the list columns (subject, from, date...) as
columns and `search_text` in its index; IMAP and the webmail read those and slice the stored
bytes, never parsing the message again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import searchtext
from .decode import decoded_size
from .envelope import Envelope, address_text, build_envelope, display_name, octets, subject_text
from .headers import decode_words, parse_date
from .mime import scan
from .params import decode_value
from .structure import Node, build_structure


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried by the message (RFC 2183): where it is, what it is called, how big it is."""

    part: str  # IMAP part number, e.g. "2" or "3.1"
    filename: str | None  # decoded (RFC 2231 or RFC 2047), None when the sender gave none
    content_type: str  # "application/pdf", lower case
    size: int  # octets as stored (still transfer-encoded)
    decoded_size: int  # exact for base64 and unencoded parts, estimated for quoted-printable

    def to_json(self) -> list[Any]:
        return [self.part, self.filename, self.content_type, self.size, self.decoded_size]

    @classmethod
    def from_json(cls, value: list[Any]) -> Attachment:
        return cls(*value)


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """Everything downstream needs from a message, computed once from its canonical bytes."""

    size: int  # RFC822.SIZE
    header_end: int  # BODY[HEADER] is data[:header_end]
    envelope: Envelope  # see `envelope` for the layout
    structure: Node  # see `structure` for the layout
    attachments: tuple[Attachment, ...]
    attachment_bytes: int  # decoded size of all attachments (the attachment size rule)
    search_text: str  # folded, see `searchtext`
    subject: str  # decoded, for list views ("" when there is none)
    from_: str  # "Name <mailbox@host>", decoded ("" when there is none)
    date: dt.datetime | None  # the Date header, when readable
    message_id: str | None
    preview: str  # the first words of the text
    has_nuls: bool  # NUL octets present: map them to 0x80 outside BINARY

    @property
    def has_attachments(self) -> bool:
        return bool(self.attachments)

    @property
    def sender(self) -> str:
        """`from_` under the store's column name."""
        return self.from_

    @property
    def sent_at(self) -> dt.datetime | None:
        """`date` under the store's column name."""
        return self.date

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_json` restores the same value."""
        return {
            "size": self.size,
            "header_end": self.header_end,
            "envelope": self.envelope,
            "structure": self.structure,
            "attachments": [a.to_json() for a in self.attachments],
            "attachment_bytes": self.attachment_bytes,
            "search_text": self.search_text,
            "subject": self.subject,
            "from": self.from_,
            "date": None if self.date is None else self.date.isoformat(),
            "message_id": self.message_id,
            "preview": self.preview,
            "has_attachments": self.has_attachments,
            "has_nuls": self.has_nuls,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> ParsedMessage:
        date = value["date"]
        return cls(
            size=value["size"],
            header_end=value["header_end"],
            envelope=value["envelope"],
            structure=value["structure"],
            attachments=tuple(Attachment.from_json(a) for a in value["attachments"]),
            attachment_bytes=value["attachment_bytes"],
            search_text=value["search_text"],
            subject=value["subject"],
            from_=value["from"],
            date=None if date is None else dt.datetime.fromisoformat(date),
            message_id=value["message_id"],
            preview=value["preview"],
            has_nuls=value["has_nuls"],
        )


def parse(data: bytes) -> ParsedMessage:
    """Parse canonical message bytes (see `canonical`). Never raises on malformed input."""
    root = scan(data)
    structure = build_structure(data, root)
    env = build_envelope(root.headers)
    attachments: list[Attachment] = []
    _find_attachments(data, structure, "", attachments)
    subject = subject_text(env) or ""
    searched = subject
    subjects = [value for name, value in root.headers if name == b"subject"]
    if len(subjects) > 1:  # every Subject field is searchable; the envelope keeps the last
        searched = " ".join(decode_words(value) for value in subjects)
    search_text, preview = searchtext.build(data, structure, env, searched, root.headers)
    sender = (env.get("from") or [None])[0]
    date_raw = env.get("date")
    message_id = env.get("message_id")
    return ParsedMessage(
        size=len(data),
        header_end=root.header_end,
        envelope=env,
        structure=structure,
        attachments=tuple(attachments),
        attachment_bytes=sum(a.decoded_size for a in attachments),
        search_text=search_text,
        subject=subject,
        from_="" if sender is None else _mailbox_text(sender),
        date=parse_date(None if date_raw is None else octets(date_raw)),
        message_id=None if message_id is None else message_id.strip() or None,
        preview=preview,
        has_nuls=b"\0" in data,
    )


def _mailbox_text(addr: list[str | None]) -> str:
    name, mailbox = display_name(addr), address_text(addr)
    if name and mailbox:
        return f"{name} <{mailbox}>"
    return name or mailbox or ""


def _param(params: list[list[str]] | None, wanted: str) -> str | None:
    for key, value in params or ():
        name, text = decode_value(octets(key), octets(value))
        if name.lower() == wanted.encode():
            return text
    return None


def filename(node: Node) -> str | None:
    """The part's file name: Content-Disposition filename, else Content-Type name (RFC 2183 §2.3)."""
    disposition = node.get("disposition")
    name = _param(disposition[1], "filename") if disposition else None
    return name if name else _param(node.get("params"), "name")


# Parts that carry no file for the reader, even when named (Outlook names its smime.p7s):
# signatures and the PGP control part (RFC 8551 §3.5.3, RFC 3156 §4-5), machine-readable
# reports (RFC 3464, RFC 8098, RFC 5965).
NOT_FILES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
        "application/pgp-encrypted",
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
    }
)


def find_attachments(data: bytes, structure: Node) -> list[Attachment]:
    """The files a stored message carries, with their IMAP part numbers (for listing and download)."""
    found: list[Attachment] = []
    _find_attachments(data, structure, "", found)
    return found


def _find_attachments(data: bytes, node: Node, number: str, out: list[Attachment]) -> None:
    """Leaves that are files: anything but unnamed text, signatures and reports, and messages
    sent as files; a message forwarded inline is looked into."""
    kind = node["kind"]
    if kind == "multipart":
        for i, child in enumerate(node.get("parts") or (), 1):
            _find_attachments(data, child, f"{number}.{i}" if number else str(i), out)
        return
    number = number or "1"
    name = filename(node)
    disposition = node.get("disposition")
    attached = disposition is not None and disposition[0].lower() == "attachment"
    if kind == "message" and not attached and not name:
        inner = node["parts"][0]  # a forwarded message shown inline: look at its own parts
        _find_attachments(data, inner, number if inner["kind"] == "multipart" else f"{number}.1", out)
        return
    content_type = (
        "message/rfc822"
        if kind == "message"
        else (f"{node['type']}/{node['subtype']}".lower() if "type" in node else "text/plain")
    )
    if content_type in NOT_FILES or (content_type.startswith("text/") and not attached and not name):
        return
    size = node["end"] - node["body_start"]
    out.append(
        Attachment(
            number, name or None, content_type, size, size if kind == "message" else decoded_size(data, node)
        )
    )
