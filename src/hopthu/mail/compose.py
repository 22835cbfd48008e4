"""A letter written in the webmail, as an RFC 5322 message, and the words of a stored one quoted back.

The webmail's page (`web.compose`) holds what the person typed (`Letter`); here it becomes bytes:
UTF-8 text/plain in quoted-printable, headers in RFC 2047, address fields written by hand (the
`email` package's folder drops the space between two encoded words of a name), files in base64. A
reply or forward takes the original's own words (`body_text`) and subject (`reply_subject`).
"""

from __future__ import annotations

import datetime as dt
import email.header
import email.policy
import email.utils
import html
import mimetypes
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from hopthu.policy.dates import VIETNAM

from .canonical import canonical
from .decode import lenient_body
from .envelope import address_text, display_name
from .headers import clean_text, decode_words, to_text
from .message import Attachment, filename
from .mime import scan
from .recipients import Person, people_text
from .searchtext import drop_hidden
from .structure import Node

QUOTE_LIMIT = 256 * 1024  # characters of an original quoted in a reply or forward
ADDRESS_FIELDS = ("to", "cc", "bcc")

_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII without < and >
# Matched at the start of a stripped subject. The optional counter carries its own leading spaces, so
# no two `\s*` stand side by side: a subject of "Re" and a long run of spaces fails in linear time.
_REPLY_PREFIX = re.compile(r"(?:re|aw|sv|tl|trả lời|tra loi)(?:\s*\[\d+\])?\s*:", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(r"(?:fwd?|tv|wg|chuyển tiếp|chuyen tiep)\s*:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Kept:
    """A file already stored that the letter carries: `ref` is `mailbox:uid:part`."""

    ref: str
    name: str
    content_type: str
    size: int


@dataclass(slots=True)
class Letter:
    """What the compose form holds (the address fields as typed)."""

    sender: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    subject: str = ""
    body: str = ""
    html: str = ""  # the letter written with formatting, cleaned (`web.compose`); "" for plain text
    in_reply_to: str = ""
    references: str = ""
    origin: str = ""  # "mailbox:uid" of the message answered (marked \Answered once sent)
    draft: int | None = None  # UID in Drafts of the version this letter replaces
    kept: list[Kept] = field(default_factory=list)
    oversized: tuple[str, ...] = ()  # address fields sent longer than the page reads, dropped

    def typed(self, key: str) -> str:
        """An address field as typed (`key` one of ADDRESS_FIELDS)."""
        return {"to": self.to, "cc": self.cc, "bcc": self.bcc}[key]


@dataclass(frozen=True, slots=True)
class File:
    """An attached file in hand: uploaded now, or copied from a stored message (`ref`)."""

    name: str
    content_type: str
    data: bytes
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class SenderChoice:
    """An address the person may send as (their own, or a delegated agency mailbox's, R8.2)."""

    address: str
    name: str


def reply_subject(subject: str) -> str:
    """`Re: ` once: a subject that already says it is a reply keeps its own prefix."""
    subject = subject.strip()
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"


def forward_subject(subject: str) -> str:
    subject = subject.strip()
    return subject if _FORWARD_PREFIX.match(subject) else f"Fwd: {subject}"


def message_ids(text: str, keep: int = 30) -> list[str]:
    """The last `keep` message identifiers (RFC 5322 §3.6.4 msg-id) found in `text`."""
    return _MESSAGE_ID.findall(text)[-keep:]


def _is_file(node: Node) -> bool:
    disposition = node.get("disposition")
    return bool(filename(node)) or bool(disposition and disposition[0].lower() == "attachment")


def _text_leaves(node: Node) -> list[Node]:
    """The text/* leaves that are the letter (not files), in order, inner messages left out."""
    if node["kind"] == "multipart":
        return [leaf for child in node.get("parts") or () for leaf in _text_leaves(child)]
    if node["kind"] == "leaf" and node.get("type", "text").lower() == "text" and not _is_file(node):
        return [node]
    return []


_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(?:p|div|li|tr|h[1-6]|blockquote|table)\s*>")
_TAG = re.compile(r"<[^<>]*>")


def body_text(data: bytes, structure: Node) -> str:
    """The letter's own words: its first plain text part, else its HTML reduced to lines."""
    leaves = _text_leaves(structure)
    plain = [leaf for leaf in leaves if leaf.get("subtype", "plain").lower() == "plain"]
    chosen = plain[0] if plain else (leaves[0] if leaves else None)
    if chosen is None:
        return ""
    charset = next((v for k, v in chosen.get("params") or () if k.lower() == "charset"), None)
    text = to_text(lenient_body(data, chosen, QUOTE_LIMIT), charset)
    if chosen.get("subtype", "plain").lower() in ("html", "xhtml+xml"):
        text = drop_hidden(text)
        text = html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", text.replace("\r\n", " ").replace("\n", " "))))
        text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
        text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text.replace("\r\n", "\n").replace("\r", "\n")[:QUOTE_LIMIT]


def body_html(data: bytes, structure: Node, limit: int = 8 * 1024 * 1024) -> str | None:
    """The letter's HTML as stored (its first text/html part that is not a file), to be cleaned
    before it is shown again; None for a letter in plain text."""
    chosen = next(
        (leaf for leaf in _text_leaves(structure) if leaf.get("subtype", "").lower() == "html"), None
    )
    if chosen is None:
        return None
    charset = next((v for k, v in chosen.get("params") or () if k.lower() == "charset"), None)
    return to_text(lenient_body(data, chosen, limit), charset)


def header_values(data: bytes, name: bytes) -> list[bytes]:
    """The raw values of every field `name` (lowercase) in the message's header."""
    end = data.find(b"\r\n\r\n")
    head = data[: end + 4] if end >= 0 else data
    return [value for key, value in scan(head).headers if key == name]


def last_header(data: bytes, name: bytes) -> str | None:
    """The last field `name` decoded (RFC 2047), or None when there is none."""
    values = header_values(data, name)
    return decode_words(values[-1]).strip() if values else None


def _plain_name(name: str) -> str:
    """A display name without the quotes some mailers put inside an encoded word
    (`=?utf-8?b?…?=` decoding to `"Nguyễn Văn Minh"`): they are punctuation, not part of the name."""
    name = " ".join(name.split())
    if len(name) > 1 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\").strip()
    return name


def envelope_people(envelope: dict[str, Any], name: str) -> list[Person]:
    """(name, address) of each mailbox in one address list of a stored ENVELOPE (`mail.envelope`)."""
    found = []
    for address in envelope.get(name) or []:
        mailbox = address_text(address)
        if mailbox:
            found.append((_plain_name(display_name(address) or ""), mailbox))
    return found


def quoted(data: bytes, structure: Node, *, sender: str, when: dt.datetime, lang: str) -> str:
    """The original, quoted under "Vào ..., ... đã viết:" (`when` in the city's time)."""
    if lang == "en":
        said = f"On {when:%d/%m/%Y} at {when:%H:%M}, {sender} wrote:"
    else:
        said = f"Vào lúc {when:%H:%M} ngày {when:%d/%m/%Y}, {sender} đã viết:"
    text = body_text(data, structure).rstrip("\n")
    lines = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
    return f"\n\n{said}\n{lines}\n"


def forwarded(
    data: bytes,
    structure: Node,
    *,
    envelope: dict[str, Any],
    sender: str,
    subject: str,
    when: dt.datetime,
    lang: str,
) -> str:
    """The original below a "Forwarded message" block naming its sender, date, subject and people."""
    labels = (
        ("---------- Forwarded message ----------", "From", "Date", "Subject", "To")
        if lang == "en"
        else ("---------- Thư chuyển tiếp ----------", "Từ", "Ngày", "Tiêu đề", "Đến")
    )
    lines = [
        labels[0],
        f"{labels[1]}: {sender}",
        f"{labels[2]}: {when:%H:%M %d/%m/%Y}",
        f"{labels[3]}: {subject or ''}",
        f"{labels[4]}: {people_text(envelope_people(envelope, 'to'))}",
    ]
    cc = envelope_people(envelope, "cc")
    if cc:
        lines.append(f"Cc: {people_text(cc)}")
    text = body_text(data, structure).rstrip("\n")
    return "\n\n" + "\n".join(lines) + "\n\n" + text + "\n"


def file_name(attachment: Attachment) -> str:
    """The file's own name, or one made from its part number and type (`tep-1.2.png`)."""
    if attachment.filename:
        return clean_text(attachment.filename)
    return f"tep-{attachment.part}{mimetypes.guess_extension(attachment.content_type) or ''}"


_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_NEXT_ADDRESS = ",\r\n "


def address_field(header: str, people: list[Person]) -> bytes:
    """An address header written here rather than by `email`: its folder drops the space between
    two encoded words it splits a name into ("SởNội"). A name not in ASCII is encoded whole
    (RFC 2047, split only at character boundaries), and each address takes its own line."""
    shown = []
    for name, address in people:
        if not name:
            shown.append(address)
            continue
        if not name.isascii():
            phrase = email.header.Header(name, "utf-8", header_name=header).encode(linesep="\r\n")
        elif _ATOMS.fullmatch(name) and "=?" not in name:
            phrase = name
        else:
            phrase = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        last_line = phrase.rsplit("\n", 1)[-1]
        fold = "\r\n " if len(last_line) + len(address) + 3 > 76 else " "  # lines of 78 at most
        shown.append(f"{phrase}{fold}<{address}>")
    return f"{header}: {_NEXT_ADDRESS.join(shown)}\r\n".encode("ascii")


@dataclass(frozen=True, slots=True)
class Built:
    """A message ready to leave: its address fields, and the rest as `email` writes it."""

    author: SenderChoice
    people: dict[str, list[Person]]
    rest: EmailMessage

    def data(self, *, bcc: bool = False) -> bytes:
        """The message's bytes; with `bcc`, the Bcc field too (the sender's copy, a draft)."""
        head = [address_field("From", [(self.author.name, self.author.address)])]
        fields: tuple[tuple[str, str], ...] = (("to", "To"), ("cc", "Cc"))
        for key, header in fields + ((("bcc", "Bcc"),) if bcc else ()):
            if self.people.get(key):
                head.append(address_field(header, self.people[key]))
        return canonical(b"".join(head) + self.rest.as_bytes(policy=email.policy.SMTP))


def build_message(
    letter: Letter,
    author: SenderChoice,
    people: dict[str, list[Person]],
    files: list[File],
    *,
    domain: str,
    now: dt.datetime,
    draft: bool = False,
) -> Built:
    """The letter as an RFC 5322 message: UTF-8 text/plain (quoted-printable), with its HTML beside it
    in multipart/alternative when it was written with formatting, headers in RFC 2047,
    a Message-ID of our domain, the date in Vietnam's time, files in base64. A draft also keeps
    each address field as typed (finished or not) in a field of ours."""
    mail = EmailMessage(policy=email.policy.SMTP)
    if letter.subject:
        mail["Subject"] = letter.subject
    mail["Date"] = email.utils.format_datetime(now.astimezone(VIETNAM))
    mail["Message-ID"] = email.utils.make_msgid(domain=domain)
    if letter.in_reply_to:
        mail["In-Reply-To"] = letter.in_reply_to
    if letter.references:
        mail["References"] = letter.references
    if draft:
        for key in ADDRESS_FIELDS:
            typed = " ".join(letter.typed(key).split())
            if typed:
                mail[f"X-Hopthu-{key.capitalize()}"] = typed
        if letter.origin:
            mail["X-Hopthu-Origin"] = letter.origin
    mail.set_content(letter.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    if letter.html:  # RFC 2046 §5.1.4: the plain words first, the richer form last
        page = (
            f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head><body>{letter.html}</body></html>\n'
        )
        mail.add_alternative(page, subtype="html", charset="utf-8", cte="quoted-printable")
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        if maintype in ("multipart", "message") or not subtype:
            maintype, subtype = "application", "octet-stream"
        mail.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.name)
    return Built(author, people, mail)
