"""Writing mail: the compose page, reply / reply all / forward from the reading view, drafts saved
while the person types, and names from the city directory offered as addresses are typed.

Sending goes through the one delivery pipeline (`smtp.pipeline`), as submission does: every
recipient is counted against the sending limits first (R3.1), then the pipeline checks the attached
files (R5.1), the sender's rights (R3.2, R8.2) and secrecy markings (R8.1). The page checks the files
and the markings first only to say so in plain Vietnamese. A copy of what was sent, with its Bcc,
goes to the sender's Sent folder.

A draft is a message in Drafts (\\Draft, \\Seen). Every save stores the new version and then
removes the one it replaces, so Drafts holds one message per letter; sending removes it. Files
already stored (a forwarded message's, a draft's) are "kept" by reference, `mailbox:uid:part`, and
copied from the stored message when the letter is saved or sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.header
import email.policy
import email.utils
import html
import logging
import mimetypes
import re
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from hopthu.directory.auth import Identity
from hopthu.directory.delegations import delegated_to
from hopthu.directory.finding import name_matches, name_narrowing, query_words
from hopthu.errors import HopThuError
from hopthu.mail import DecodeError, binary, canonical, parse
from hopthu.mail.addresses import AddressError, Mailbox, read_mailbox
from hopthu.mail.decode import lenient_body
from hopthu.mail.envelope import address_text, display_name
from hopthu.mail.headers import clean_text, decode_words, to_text
from hopthu.mail.message import Attachment, filename, find_attachments
from hopthu.mail.mime import scan
from hopthu.mail.searchtext import drop_hidden
from hopthu.mail.structure import Node
from hopthu.policy import lifecycle, quota, secrecy
from hopthu.protection import doctext
from hopthu.smtp.limits import Verdict
from hopthu.smtp.pipeline import Incoming
from hopthu.store import reading
from hopthu.store.flags import ANSWERED, DRAFT, SEEN
from hopthu.store.mailstore import Target
from hopthu.store.schema import account, agency, message
from hopthu.text import fold
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.client import client_address
from hopthu.web.folders import FolderView, find, flat, folders, special, visible
from hopthu.web.i18n import language
from hopthu.web.security import csrf_ok
from hopthu.web.templating import VIETNAM, page

log = logging.getLogger(__name__)
router = APIRouter()

COMPOSE = "/soan-thu"
SAVE_DRAFT = "/soan-thu/nhap"
DIRECTORY = "/soan-thu/danh-ba"
MAX_RECIPIENTS = 500
# The longest address field read (500 addresses with names fit in about 40,000 characters); a
# longer one is refused whole before any parsing, so a pasted megabyte costs nothing.
MAX_ADDRESS_FIELD = 64 * 1024
MAX_FIELD = 8 * 1024 * 1024  # a form field (the body) larger than this is refused
INLINE_READ = 256 * 1024  # stored messages larger than this are read in a thread
QUOTE_LIMIT = 256 * 1024  # characters of an original quoted in a reply or forward
SUGGESTIONS = 10
Text = tuple[str, str]  # (Vietnamese, English)

_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}>")  # printable ASCII without < and >
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_PART = re.compile(r"\d{1,4}(?:\.\d{1,4}){0,20}")
_REPLY_PREFIX = re.compile(r"\s*(?:re|aw|sv|tl|trả lời|tra loi)\s*(?:\[\d+\])?\s*:", re.IGNORECASE)
_FORWARD_PREFIX = re.compile(r"\s*(?:fwd?|tv|wg|chuyển tiếp|chuyen tiep)\s*:", re.IGNORECASE)
_FIELDS: dict[str, Text] = {"to": ("Đến", "To"), "cc": ("Cc", "Cc"), "bcc": ("Bcc", "Bcc")}
_KINDS = ("tra-loi", "tra-loi-tat-ca", "chuyen-tiep")
_EXPIRED: Text = ("Biểu mẫu đã hết hạn: hãy tải lại trang.", "The form has expired: reload the page.")


# --- the letter being written ------------------------------------------------------------------


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
    in_reply_to: str = ""
    references: str = ""
    origin: str = ""  # "mailbox:uid" of the message answered (marked \Answered once sent)
    draft: int | None = None  # UID in Drafts of the version this letter replaces
    kept: list[Kept] = field(default_factory=list)
    oversized: tuple[str, ...] = ()  # address fields sent longer than MAX_ADDRESS_FIELD, dropped


@dataclass(frozen=True, slots=True)
class File:
    """An attached file in hand: uploaded now, or copied from a stored message (`ref`)."""

    name: str
    content_type: str
    data: bytes
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class SenderChoice:
    address: str
    name: str


def reply_subject(subject: str) -> str:
    """`Re: ` once: a subject that already says it is a reply keeps its own prefix."""
    subject = subject.strip()
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"


def forward_subject(subject: str) -> str:
    subject = subject.strip()
    return subject if _FORWARD_PREFIX.match(subject) else f"Fwd: {subject}"


def split_addresses(text: str) -> list[str]:
    """The pieces of an address field, split at commas and semicolons outside quotes, comments
    and <> (people type ";" as Outlook taught them). One pass, no backtracking."""
    pieces: list[str] = []
    start = 0
    quoted = angle = escaped = False
    depth = 0
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and (quoted or depth):
            escaped = True
        elif ch == '"' and not angle and not depth:
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth:
            continue
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch in ",;" and not angle:
            pieces.append(text[start:i].strip())
            start = i + 1
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def _plain_address(mailbox: Mailbox) -> bool:
    """An address as the webmail sends to: plain ASCII `local@domain.tld` (no SMTPUTF8, no quoted
    local part, no address literal), a host name of letter-digit-hyphen labels (RFC 5321 §4.1.2)."""
    address = mailbox.address
    if len(address) > 254 or not address.isascii() or len(mailbox.local) > 64:
        return False
    if mailbox.local.startswith('"'):
        return False
    labels = mailbox.domain.split(".")
    return len(labels) >= 2 and all(
        0 < len(label) <= 63
        and label[0].isalnum()
        and label[-1].isalnum()
        and all(ch.isalnum() or ch == "-" for ch in label)
        for label in labels
    )


def parse_addresses(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, address) for every valid piece of an address field, and the pieces that are not.

    Each piece is read by the strict reader of `mail.addresses` (the one that decides who sent a
    message), so what the page accepts is what the pipeline reads. A field longer than
    `MAX_ADDRESS_FIELD` is one bad piece, not parsed."""
    if len(text) > MAX_ADDRESS_FIELD:
        return [], [text[:40] + "…"]
    found: list[tuple[str, str]] = []
    bad: list[str] = []
    for piece in split_addresses(text.replace("\r", " ").replace("\n", " ")):
        try:
            mailbox = read_mailbox(piece, limit=MAX_ADDRESS_FIELD)
        except AddressError:
            bad.append(piece)
            continue
        if _plain_address(mailbox):
            found.append((mailbox.name, mailbox.address))
        else:
            bad.append(piece)
    return found, bad


def person_text(name: str, address: str) -> str:
    """`Name <address>` as the address fields show it (quoted when the name needs it)."""
    if not name:
        return address
    if re.search(r'[",;<>@()\\]', name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


def _people_text(people: list[tuple[str, str]]) -> str:
    return ", ".join(person_text(name, address) for name, address in people)


def _message_ids(text: str, keep: int = 30) -> list[str]:
    return _MESSAGE_ID.findall(text)[-keep:]


def _letter_from_form(form: FormData) -> Letter:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    draft = text("draft").strip()
    # An address field past its bound is dropped here, before anything reads, echoes or saves it.
    oversized = tuple(key for key in _FIELDS if len(text(key)) > MAX_ADDRESS_FIELD)
    return Letter(
        sender=text("from").strip(),
        to="" if "to" in oversized else text("to"),
        cc="" if "cc" in oversized else text("cc"),
        bcc="" if "bcc" in oversized else text("bcc"),
        oversized=oversized,
        subject=" ".join(clean_text(text("subject")).split()),
        body=text("body").replace("\r\n", "\n").replace("\r", "\n"),
        in_reply_to=" ".join(_message_ids(text("in_reply_to"), 1)),
        references=" ".join(_message_ids(text("references"))),
        origin=text("origin") if re.fullmatch(r"\d+:\d+", text("origin")) else "",
        draft=int(draft) if draft.isdigit() else None,
        kept=[Kept(value, "", "", 0) for value in form.getlist("keep") if isinstance(value, str)],
    )


# --- who may send as what -----------------------------------------------------------------------


async def _senders(request: Request, who: SignedIn) -> list[SenderChoice]:
    """The person's own address, then the agency mailboxes they may send from (R8.2)."""
    services = request.app.state.services
    domain = services.settings.server.domain
    boxes = await delegated_to(services.store.db, who.account.id)
    own = SenderChoice(who.account.address(domain), who.account.display_name)
    return [
        own,
        *(
            SenderChoice(f"{box.local}@{domain}", box.display_name)
            for box in sorted(boxes, key=lambda box: box.display_name)
            if box.can_send and lifecycle.can_send(lifecycle.Status(box.status))
        ),
    ]


def _chosen(choices: list[SenderChoice], address: str) -> SenderChoice | None:
    return next((c for c in choices if c.address.lower() == address.lower()), None)


# --- stored messages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stored:
    mailbox: FolderView
    uid: int
    row: Any
    data: bytes


_COLUMNS = [
    message.c.flags,
    message.c.size,
    message.c.internal_date,
    message.c.sent_at,
    message.c.subject,
    message.c.sender,
    message.c.envelope,
    message.c.structure,
    message.c.blob_hash,
]


async def _stored(request: Request, views: list[FolderView], mailbox_id: int, uid: int) -> Stored | None:
    """One of the person's messages (404 for a folder of someone else), or None if it is gone."""
    store = request.app.state.services.store
    box = find(views, mailbox_id)
    rows = await reading.rows(store.db, mailbox_id, [uid], _COLUMNS)
    if not rows:
        return None
    row = rows[0]
    if row.size <= INLINE_READ:
        data = store.blobs.get(row.blob_hash)
    else:
        data = await asyncio.to_thread(store.blobs.get, row.blob_hash)
    return Stored(box, uid, row, data)


def _header_values(data: bytes, name: bytes) -> list[bytes]:
    end = data.find(b"\r\n\r\n")
    head = data[: end + 4] if end >= 0 else data
    return [value for key, value in scan(head).headers if key == name]


def _envelope_people(envelope: dict, name: str) -> list[tuple[str, str]]:
    found = []
    for address in envelope.get(name) or []:
        mailbox = address_text(address)
        if mailbox:
            found.append((" ".join((display_name(address) or "").split()), mailbox))
    return found


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


def _moment(row: Any) -> dt.datetime:
    return (row.sent_at or row.internal_date).astimezone(VIETNAM)


def _quote(stored: Stored, lang: str) -> str:
    """The original, quoted under "Vào ..., ... đã viết:"."""
    when = _moment(stored.row)
    if lang == "en":
        said = f"On {when:%d/%m/%Y} at {when:%H:%M}, {stored.row.sender} wrote:"
    else:
        said = f"Vào lúc {when:%H:%M} ngày {when:%d/%m/%Y}, {stored.row.sender} đã viết:"
    text = body_text(stored.data, stored.row.structure).rstrip("\n")
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
    return f"\n\n{said}\n{quoted}\n"


def _forwarded(stored: Stored, lang: str) -> str:
    envelope = stored.row.envelope or {}
    when = _moment(stored.row)
    labels = (
        ("---------- Forwarded message ----------", "From", "Date", "Subject", "To")
        if lang == "en"
        else ("---------- Thư chuyển tiếp ----------", "Từ", "Ngày", "Tiêu đề", "Đến")
    )
    lines = [
        labels[0],
        f"{labels[1]}: {stored.row.sender}",
        f"{labels[2]}: {when:%H:%M %d/%m/%Y}",
        f"{labels[3]}: {stored.row.subject or ''}",
        f"{labels[4]}: {_people_text(_envelope_people(envelope, 'to'))}",
    ]
    cc = _envelope_people(envelope, "cc")
    if cc:
        lines.append(f"Cc: {_people_text(cc)}")
    text = body_text(stored.data, stored.row.structure).rstrip("\n")
    return "\n\n" + "\n".join(lines) + "\n\n" + text + "\n"


def _name(attachment: Attachment) -> str:
    """The file's own name, or one made from its part number and type (`tep-1.2.png`)."""
    if attachment.filename:
        return clean_text(attachment.filename)
    return f"tep-{attachment.part}{mimetypes.guess_extension(attachment.content_type) or ''}"


def _kept_in_hand(files: list[File]) -> list[Kept]:
    return [Kept(f.ref or "", f.name, f.content_type, len(f.data)) for f in files]


def _kept_of(stored: Stored) -> list[Kept]:
    return [
        Kept(
            f"{stored.mailbox.id}:{stored.uid}:{a.part}",
            _name(a),
            a.content_type,
            a.decoded_size,
        )
        for a in find_attachments(stored.data, stored.row.structure)
    ]


async def _signature(request: Request, who: SignedIn) -> str:
    """The person's signature (account settings) below what they write, after the usual "-- "."""
    preferences = await request.app.state.services.directory.preferences.get(who.account.id)
    text = preferences.signature.replace("\r\n", "\n").strip("\n")
    return f"\n\n-- \n{text}" if text.strip() else ""


async def _answer(request: Request, who: SignedIn, kind: str, mailbox_id: int, uid: int) -> Letter:
    """A reply, a reply to all, or a forward of one of the person's messages."""
    services = request.app.state.services
    views = flat(await visible(services, who.account.id))
    stored = await _stored(request, views, mailbox_id, uid)
    if stored is None:
        raise HTTPException(404)
    choices = await _senders(request, who)
    lang = language(request)
    envelope = stored.row.envelope or {}
    signature = await _signature(request, who)
    subject = clean_text(stored.row.subject or "")  # a row stored before decoding cleaned it
    if kind == "chuyen-tiep":
        return Letter(
            sender=choices[0].address,
            subject=forward_subject(subject),
            body=signature + _forwarded(stored, lang),
            kept=_kept_of(stored),
        )
    mine = {c.address.lower() for c in choices}
    to = _envelope_people(envelope, "reply_to") or _envelope_people(envelope, "from")
    if all(address.lower() in mine for _, address in to):  # answering what the person sent
        to = _envelope_people(envelope, "to") or to
    cc: list[tuple[str, str]] = []
    if kind == "tra-loi-tat-ca":
        taken = mine | {address.lower() for _, address in to}
        for name, address in _envelope_people(envelope, "to") + _envelope_people(envelope, "cc"):
            if address.lower() not in taken:
                taken.add(address.lower())
                cc.append((name, address))
    # Answer from the address the message came to, when the person may send as it (R8.2).
    addressed = {a.lower() for _, a in _envelope_people(envelope, "to") + _envelope_people(envelope, "cc")}
    sender = next((c.address for c in choices if c.address.lower() in addressed), choices[0].address)
    message_id = envelope.get("message_id") or ""
    references = _message_ids(b" ".join(_header_values(stored.data, b"references")).decode("latin-1"))
    if not references and envelope.get("in_reply_to"):
        references = _message_ids(envelope["in_reply_to"], 1)
    own_id = _message_ids(message_id, 1)
    return Letter(
        sender=sender,
        to=_people_text(to),
        cc=_people_text(cc),
        subject=reply_subject(subject),
        body=signature + _quote(stored, lang),
        in_reply_to=" ".join(own_id),
        references=" ".join((references + own_id)[-30:]),
        origin=f"{mailbox_id}:{uid}",
    )


def _raw_header(data: bytes, name: bytes) -> str | None:
    values = _header_values(data, name)
    return decode_words(values[-1]).strip() if values else None


async def _reopen(request: Request, who: SignedIn, uid: int) -> Letter:
    """A draft from Drafts, as it was last saved (from our own headers when it has them)."""
    mail = request.app.state.services.store.mail
    views = await folders(mail, who.account.id)
    drafts = special(views, "\\Drafts")
    stored = await _stored(request, views, drafts.id, uid)
    if stored is None:
        raise HTTPException(404)
    envelope = stored.row.envelope or {}
    data = stored.data

    def people(name: str) -> str:
        typed = _raw_header(data, b"x-hopthu-" + name.encode())
        return typed if typed is not None else _people_text(_envelope_people(envelope, name))

    authors = _envelope_people(envelope, "from")
    origin = _raw_header(data, b"x-hopthu-origin") or ""
    return Letter(
        sender=authors[0][1] if authors else "",
        to=people("to"),
        cc=people("cc"),
        bcc=people("bcc"),
        subject=clean_text(stored.row.subject or ""),
        body=body_text(data, stored.row.structure).rstrip("\n"),
        in_reply_to=" ".join(_message_ids(envelope.get("in_reply_to") or "", 1)),
        references=" ".join(_message_ids(b" ".join(_header_values(data, b"references")).decode("latin-1"))),
        origin=origin if re.fullmatch(r"\d+:\d+", origin) else "",
        draft=uid,
        kept=_kept_of(stored),
    )


async def _kept_files(request: Request, who: SignedIn, refs: list[str]) -> tuple[list[File], list[Text]]:
    """The stored files the letter keeps, in the order given, and what could not be found."""
    views = flat(await visible(request.app.state.services, who.account.id))
    files: list[File] = []
    missing: list[Text] = []
    opened: dict[tuple[int, int], Stored | None] = {}
    for ref in refs:
        mailbox_id, _, rest = ref.partition(":")
        uid, _, part = rest.partition(":")
        if not (mailbox_id.isdigit() and uid.isdigit() and _PART.fullmatch(part)):
            continue
        key = (int(mailbox_id), int(uid))
        if key not in opened:
            opened[key] = await _stored(request, views, *key)
        stored = opened[key]
        found = (
            {a.part: a for a in find_attachments(stored.data, stored.row.structure)}.get(part)
            if stored
            else None
        )
        if stored is None or found is None:
            missing.append(
                (
                    "Một tệp đính kèm của thư gốc không còn nữa (thư đã bị xóa hoặc di chuyển).",
                    "A file of the original message is gone (the message was deleted or moved).",
                )
            )
            continue
        try:
            content = binary(stored.data, stored.row.structure, part)
        except DecodeError:
            content = b""
        files.append(File(_name(found), found.content_type, content, ref))
    return files, missing


async def _uploads(form: FormData) -> list[File]:
    files = []
    for value in form.getlist("files"):
        if not isinstance(value, UploadFile) or not value.filename:
            continue
        name = value.filename.replace("\\", "/").rsplit("/", 1)[-1]
        name = "".join(ch for ch in name if ch >= " " and ch != "\x7f")[:200] or "tep"
        kind = (value.content_type or "").split(";")[0].strip().lower()
        if not _CONTENT_TYPE.fullmatch(kind) or kind.startswith(("multipart/", "message/")):
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        files.append(File(name, kind, await value.read()))
    return files


# --- writing the message ------------------------------------------------------------------------


_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+")
_NEXT_ADDRESS = ",\r\n "


def address_field(header: str, people: list[tuple[str, str]]) -> bytes:
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
    people: dict[str, list[tuple[str, str]]]
    rest: EmailMessage

    def data(self, *, bcc: bool = False) -> bytes:
        """The message's bytes; with `bcc`, the Bcc field too (the sender's copy, a draft)."""
        head = [address_field("From", [(self.author.name, self.author.address)])]
        for key, header in (("to", "To"), ("cc", "Cc")) + ((("bcc", "Bcc"),) if bcc else ()):
            if self.people.get(key):
                head.append(address_field(header, self.people[key]))
        return canonical(b"".join(head) + self.rest.as_bytes(policy=email.policy.SMTP))


def build_message(
    letter: Letter,
    author: SenderChoice,
    people: dict[str, list[tuple[str, str]]],
    files: list[File],
    *,
    domain: str,
    now: dt.datetime,
    draft: bool = False,
) -> Built:
    """The letter as an RFC 5322 message: UTF-8 text/plain (quoted-printable), headers in RFC 2047,
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
        for key in ("to", "cc", "bcc"):
            typed = " ".join(getattr(letter, key).split())
            if typed:
                mail[f"X-Hopthu-{key.capitalize()}"] = typed
        if letter.origin:
            mail["X-Hopthu-Origin"] = letter.origin
    mail.set_content(letter.body, subtype="plain", charset="utf-8", cte="quoted-printable")
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        if maintype in ("multipart", "message") or not subtype:
            maintype, subtype = "application", "octet-stream"
        mail.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.name)
    return Built(author, people, mail)


async def _save_draft(
    request: Request, who: SignedIn, letter: Letter, files: list[File]
) -> tuple[Letter | None, Text | None]:
    """Store this version in Drafts and remove the one it replaces: the letter as saved (its new
    UID, its files kept from the new version), or why it could not be saved."""
    services = request.app.state.services
    mail = services.store.mail
    views = await folders(mail, who.account.id)
    drafts = special(views, "\\Drafts")
    choices = await _senders(request, who)
    author = _chosen(choices, letter.sender) or choices[0]
    people = {key: parse_addresses(getattr(letter, key))[0] for key in _FIELDS}
    built = build_message(
        letter,
        author,
        people,
        files,
        domain=services.settings.server.domain,
        now=services.router.ctx.now(),
        draft=True,
    )
    data = built.data(bcc=True)
    parsed = parse(data)
    target = Target(who.account.id, who.account.quota_bytes, drafts.name, flags=SEEN | DRAFT)
    (delivered,) = await mail.deliver(data, parsed, [target])
    if delivered.uid is None:
        return None, (
            "Không lưu được thư nháp: hộp thư đã đầy. Hãy xóa bớt thư cũ.",
            "The draft could not be saved: the mailbox is full. Delete some old mail.",
        )
    if letter.draft is not None and letter.draft != delivered.uid:
        await mail.editor.expunge(who.account.id, drafts.id, [letter.draft])
    kept = [
        Kept(
            f"{drafts.id}:{delivered.uid}:{a.part}",
            _name(a),
            a.content_type,
            a.decoded_size,
        )
        for a in parsed.attachments
    ]
    return replace(letter, sender=author.address, draft=delivered.uid, kept=kept), None


# --- the pages ----------------------------------------------------------------------------------


async def _render(
    request: Request,
    who: SignedIn,
    letter: Letter,
    *,
    errors: list[Text] | None = None,
    errors_title: Text = ("Thư chưa được gửi:", "The message was not sent:"),
    notice: Text | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    services = request.app.state.services
    groups = await visible(services, who.account.id)
    views = [view for view in flat(groups) if view.account_id == who.account.id]
    choices = await _senders(request, who)
    if not _chosen(choices, letter.sender):
        letter.sender = choices[0].address
    return page(
        request,
        "compose.html",
        who=who,
        status_code=status_code,
        groups=groups,
        folders=views,
        current=None,
        drafts=special(views, "\\Drafts"),
        letter=letter,
        senders=choices,
        errors=errors or [],
        errors_title=errors_title,
        notice=notice,
        limit=services.settings.policy.attachment_max,
    )


@router.get(COMPOSE, response_class=HTMLResponse)
async def compose(
    request: Request,
    who: Annotated[SignedIn, Depends(signed_in)],
    kieu: str = "",
    thu: int | None = None,
    uid: int | None = None,
    nhap: int | None = None,
    den: str = "",
) -> HTMLResponse:
    """A new letter (`den`: to whom), a reply, reply to all or forward (`kieu` of message `thu`/`uid`),
    or a draft reopened (`nhap`: its UID in Drafts)."""
    if nhap is not None:
        letter = await _reopen(request, who, nhap)
    elif kieu in _KINDS and thu is not None and uid is not None:
        letter = await _answer(request, who, kieu, thu, uid)
    else:
        letter = Letter(to=den[:2000], body=await _signature(request, who))
    notice = ("Đã lưu thư nháp.", "The draft is saved.") if "da-luu" in request.query_params else None
    return await _render(request, who, letter, notice=notice)


async def _form(request: Request) -> FormData:
    try:
        return await request.form(max_files=100, max_fields=2000, max_part_size=MAX_FIELD)
    except Exception as error:  # malformed or oversized multipart data
        log.info("compose form refused: %s", error)
        raise HTTPException(400) from None


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.post(SAVE_DRAFT)
async def save_draft(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    """Save the letter in Drafts: every few seconds from the page's script (JSON answer), or from
    the "Lưu nháp" button (back to the letter, saved)."""
    form = await _form(request)
    as_json = _wants_json(request)
    if not csrf_ok(request, form.get("csrf") if isinstance(form.get("csrf"), str) else None):
        if as_json:
            return JSONResponse({"error": _pick(request, _EXPIRED)}, status_code=403)
        return await _render(request, who, _letter_from_form(form), errors=[_EXPIRED], status_code=400)
    letter = _letter_from_form(form)
    kept, missing = await _kept_files(request, who, [k.ref for k in letter.kept])
    letter.kept = _kept_in_hand(kept)
    uploads = await _uploads(form)
    problem = _attachment_problem(request, kept + uploads)
    files = kept + ([] if problem else uploads)
    saved, refused = await _save_draft(request, who, letter, files)
    problems = [p for p in (problem, refused) if p] + missing + _oversized(letter)
    if as_json:
        if saved is None:
            return JSONResponse({"error": _pick(request, problems[0])}, status_code=507)
        return JSONResponse(
            {
                "draft": saved.draft,
                "keep": [k.ref for k in saved.kept],
                "saved": _now(request).astimezone(VIETNAM).strftime("%H:%M:%S"),
                "warning": _pick(request, problems[0]) if problems else None,
            }
        )
    if saved is None or problems:
        title = ("Thư nháp chưa được lưu trọn vẹn:", "The draft was not saved in full:")
        return await _render(
            request, who, saved or letter, errors=problems, errors_title=title, status_code=400
        )
    return RedirectResponse(f"{COMPOSE}?nhap={saved.draft}&da-luu=1", status_code=303)


def _now(request: Request) -> dt.datetime:
    return request.app.state.services.router.ctx.now()


def _pick(request: Request, text: Text) -> str:
    return text[1] if language(request) == "en" else text[0]


def _documents(files: list[File]) -> list[doctext.Document]:
    return doctext.documents_of((f.name, f.content_type, f.data) for f in files)


def _attachment_problem(request: Request, files: list[File]) -> Text | None:
    """R5.1 said in the page's words (the pipeline refuses the same, in ASCII)."""
    rules = request.app.state.services.router.ctx.quota_rules
    try:
        quota.check_attachments(sum(len(f.data) for f in files), rules)
    except HopThuError as error:
        return (error.vi, error.en)
    return None


def _oversized(letter: Letter) -> list[Text]:
    """The address fields dropped for their length, said in the page's words."""
    return [
        (
            f"Ô “{vi}” quá dài (tối đa {MAX_ADDRESS_FIELD} ký tự): hãy nhập lại người nhận.",
            f"The “{en}” field is too long (at most {MAX_ADDRESS_FIELD} characters): enter the "
            "recipients again.",
        )
        for key, (vi, en) in _FIELDS.items()
        if key in letter.oversized
    ]


async def _recipients(
    request: Request, letter: Letter
) -> tuple[dict[str, list[tuple[str, str]]], list[str], list[Text]]:
    """The address fields read and checked: people per field, every distinct address, problems."""
    router_ = request.app.state.services.router
    people: dict[str, list[tuple[str, str]]] = {}
    problems: list[Text] = []
    problems += _oversized(letter)
    for key, (vi, en) in _FIELDS.items():
        people[key], bad = parse_addresses(getattr(letter, key))
        for piece in bad:
            problems.append(
                (
                    f"Ô “{vi}”: “{piece}” không phải là địa chỉ thư hợp lệ (ví dụ: nvminh@cantho.gov.vn).",
                    f"“{en}” field: “{piece}” is not a valid e-mail address (e.g. nvminh@cantho.gov.vn).",
                )
            )
    distinct: dict[str, str] = {}
    for key in _FIELDS:
        for _, address in people[key]:
            distinct.setdefault(address.lower(), address)
    if not distinct and not problems:
        problems.append(("Hãy nhập ít nhất một người nhận.", "Enter at least one recipient."))
    if len(distinct) > MAX_RECIPIENTS:
        problems.append(
            (
                f"Một thư gửi được tối đa {MAX_RECIPIENTS} người nhận.",
                f"A message can have at most {MAX_RECIPIENTS} recipients.",
            )
        )
        return people, list(distinct.values()), problems
    for address in distinct.values():
        _, domain = router_.split(address)
        if not router_.is_local_domain(domain):
            continue
        local = await router_.local(address)
        if local is None:
            problems.append(
                (
                    f"Không có hộp thư {address} trong hệ thống thư điện tử của thành phố.",
                    f"There is no mailbox {address} in the city's e-mail system.",
                )
            )
        elif not local.receives:
            problems.append(
                (f"Hộp thư {address} đã ngừng hoạt động.", f"The mailbox {address} no longer receives mail.")
            )
    return people, list(distinct.values()), problems


async def _count_recipients(request: Request, who: SignedIn, count: int) -> Text | None:
    """R3.1, as submission counts them: one per recipient; far over the hard limit the account is
    presumed hijacked and locked (R6.4a)."""
    services = request.app.state.services
    limits = getattr(services, "limits", None)
    if limits is None:
        return None
    for counted in range(count):
        verdict = limits.check(who.account.id)
        if verdict is Verdict.ALLOW:
            continue
        limits.release(who.account.id, counted)
        if verdict is Verdict.LOCK:
            await services.directory.accounts.lock_for_spam(
                who.account.local, f"vượt giới hạn gửi {limits.hard_per_day} người nhận/ngày (R3.1)"
            )
            return (
                "Hộp thư bị tạm khóa do gửi quá nhiều thư (R6.4a). Hãy liên hệ hotro@.",
                "The mailbox is locked for sending too much mail (R6.4a). Contact hotro@.",
            )
        return (
            f"Bạn đã gửi tới quá nhiều người nhận (tối đa {limits.per_hour} mỗi giờ, {limits.per_day}"
            " mỗi ngày). Hãy thử lại sau.",
            f"You have sent to too many recipients (at most {limits.per_hour} an hour, {limits.per_day}"
            " a day). Try again later.",
        )
    return None


def _reply_problem(text: str) -> Text:
    """A pipeline refusal (ASCII, "vietnamese / english") as the page's two languages."""
    vi, _, en = text.partition(" / ")
    return (vi or text, en or text)


async def _not_sent(
    request: Request, who: SignedIn, letter: Letter, files: list[File], problems: list[Text], status_code: int
) -> HTMLResponse:
    """Back to the letter with what is wrong; what was written (and the files) kept as a draft."""
    saved, refused = await _save_draft(request, who, letter, files)
    if refused:
        problems = [*problems, refused]
    return await _render(request, who, saved or letter, errors=problems, status_code=status_code)


@router.post(COMPOSE)
async def send(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    services = request.app.state.services
    form = await _form(request)
    csrf = form.get("csrf")
    if not csrf_ok(request, csrf if isinstance(csrf, str) else None):
        return await _render(request, who, _letter_from_form(form), errors=[_EXPIRED], status_code=400)
    letter = _letter_from_form(form)
    choices = await _senders(request, who)
    author = _chosen(choices, letter.sender)
    people, recipients, problems = await _recipients(request, letter)
    if author is None:
        problems.append(
            ("Bạn không được gửi thư với địa chỉ này (R3.2).", "You may not send as this address (R3.2).")
        )
    kept, missing = await _kept_files(request, who, [k.ref for k in letter.kept])
    letter.kept = _kept_in_hand(kept)
    problems += missing
    uploads = await _uploads(form)
    too_large = _attachment_problem(request, kept + uploads)
    if too_large:
        problems.append(too_large)
        problems.append(
            (
                "Các tệp vừa chọn chưa được gửi đi cũng chưa được lưu.",
                "The files just chosen were neither sent nor saved.",
            )
        )
        return await _not_sent(request, who, letter, kept, problems, 413)
    files = kept + uploads
    markings = secrecy.find_secrecy_markings(letter.subject, letter.body)
    if not markings:
        markings = await doctext.markings(_documents(files))
    if markings:
        error = secrecy.secrecy_refusal(markings)
        problems.append((error.vi, error.en))
    if problems or author is None:
        return await _not_sent(request, who, letter, files, problems, 400)
    refused = await _count_recipients(request, who, len(recipients))
    if refused:
        return await _not_sent(request, who, letter, files, [refused], 400)
    domain = services.settings.server.domain
    now = _now(request)
    built = build_message(letter, author, people, files, domain=domain, now=now)
    data = built.data()
    identity = _identity(who, domain)
    outcome = await services.pipeline.accept(
        Incoming(
            data,
            author.address,
            recipients,
            "web",
            client_ip=client_address(request) or "127.0.0.1",
            identity=identity,
            tls=request.url.scheme == "https",
            received_at=now,
        )
    )
    if outcome.reply.code != 250:
        limits = getattr(services, "limits", None)
        if limits is not None:
            limits.release(who.account.id, len(recipients))
        return await _not_sent(request, who, letter, files, [_reply_problem(outcome.reply.text)], 400)
    sent_copy = await _keep_copy(request, who, built)
    await _after_sending(request, who, letter)
    views = await folders(services.store.mail, who.account.id)
    notice = "1" if sent_copy else "khong-luu"
    return RedirectResponse(f"/thu/{special(views, None).id}?da-gui={notice}", status_code=303)


def _identity(who: SignedIn, domain: str) -> Identity:
    return Identity(
        who.account.id,
        who.account.local,
        who.account.address(domain),
        who.account.kind,
        who.account.display_name,
    )


async def _keep_copy(request: Request, who: SignedIn, built: Built) -> bool:
    """The sender's copy in Sent, with the Bcc the recipients never saw."""
    mail = request.app.state.services.store.mail
    data = built.data(bcc=True)
    views = await folders(mail, who.account.id)
    sent = special(views, "\\Sent")
    target = Target(who.account.id, who.account.quota_bytes, sent.name, flags=SEEN)
    (delivered,) = await mail.deliver(data, parse(data), [target])
    return delivered.uid is not None


async def _after_sending(request: Request, who: SignedIn, letter: Letter) -> None:
    """The draft goes; the message answered is marked \\Answered (as IMAP clients do)."""
    services = request.app.state.services
    mail = services.store.mail
    if letter.draft is not None:
        drafts = special(await folders(mail, who.account.id), "\\Drafts")
        await mail.editor.expunge(who.account.id, drafts.id, [letter.draft])
    if letter.origin:
        mailbox_id, uid = (int(n) for n in letter.origin.split(":"))
        answered = next(
            (v for v in flat(await visible(services, who.account.id)) if v.id == mailbox_id), None
        )
        if answered is not None:  # the person's own folder or a delegated agency mailbox's (R8.2)
            await mail.editor.set_flags(answered.account_id, mailbox_id, [uid], "+", ANSWERED)


# --- the directory ------------------------------------------------------------------------------


async def suggestions(request: Request, query: str, limit: int = SUGGESTIONS) -> list[dict[str, str]]:
    """People and agency mailboxes whose name (without diacritics, see `directory.finding`) or
    address (by its prefix, the unique index) starts like `query`."""
    services = request.app.state.services
    words = query_words(query)
    local = re.sub(r"[^a-z0-9.-]", "", fold(query).split("@")[0])
    if not words:
        return []
    named = name_narrowing(account.c.display_name, words)
    matches = sa.or_(named, account.c.local.like(f"{local}%")) if local else named
    statement = (
        sa.select(account.c.local, account.c.display_name, account.c.kind, agency.c.name)
        .select_from(account.join(agency, agency.c.id == account.c.agency_id))
        .where(
            account.c.status.in_([lifecycle.Status.ACTIVE.value, lifecycle.Status.LOCKED.value]),
            matches,
        )
        .limit(300)
    )
    async with services.store.db.read() as conn:
        rows = (await conn.execute(statement)).all()
    ranked = []
    for row in rows:
        name_words = fold(row.display_name).split()
        by_name = name_matches(row.display_name, words)
        by_address = bool(local) and row.local.startswith(local)
        if by_name or by_address:
            rank = 0 if row.local == local else 1 if by_address else 2
            # Earlier in the name is closer: "noi vu" finds "Sở Nội vụ" before its staff.
            where = next(
                (n for n, part in enumerate(name_words) if part.startswith(words[0])), len(name_words)
            )
            ranked.append((rank, where, fold(row.display_name), row))
    ranked.sort(key=lambda item: item[:3])
    domain = services.settings.server.domain
    return [
        {
            "name": row.display_name,
            "address": f"{row.local}@{domain}",
            "agency": row.name if row.kind != "agency" and row.name not in row.display_name else "",
        }
        for *_, row in ranked[:limit]
    ]


@router.get(DIRECTORY)
async def directory(
    request: Request, who: Annotated[SignedIn, Depends(signed_in)], q: str = ""
) -> JSONResponse:
    """Up to ten addresses from the city directory for the compose page's address fields."""
    found = await suggestions(request, q[:100]) if len(q.strip()) >= 2 else []
    return JSONResponse(found, headers={"Cache-Control": "private, max-age=60"})
