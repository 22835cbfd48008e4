"""Writing mail: the compose page, reply / reply all / forward from the reading view, drafts saved
while the person types, and names from the city directory offered as addresses are typed.

The page only reads the form and says what happened: the letter becomes a message in
`mail.compose`, address fields are read by `mail.recipients`, the directory is searched by
`directory.finding.suggest`. Sending goes through the one delivery pipeline (`smtp.pipeline`), as
submission does: the recipients are counted against the sending limits first (`smtp.limits`, R3.1,
which also locks an account far over them, R6.4a), then the pipeline checks the attached files
(R5.1), the sender's rights (R3.2, R8.2) and secrecy markings (R8.1), and its outcome carries the
words the page shows. A copy of what was sent, with its Bcc, goes to the sender's Sent folder.

With its script, the page writes the letter in an editor and posts its HTML beside its words. The
HTML is cleaned by the rules for reading mail (`web.htmlmail.clean_html`); a letter with formatting
leaves as multipart/alternative, its text alternative written from the cleaned HTML
(`mail.richtext`), and one without (or from a page without the script) as plain text, as before.
A reply or forward opens with the original in a quote. Signatures stay plain text.

A draft is a message in Drafts (\\Draft, \\Seen). Every save stores the new version and then
removes the one it replaces, so Drafts holds one message per letter; sending removes it. A letter
that cannot be sent is not a draft: it stays on the page as written, with the words saying why. Files
already stored (a forwarded message's, a draft's) are "kept" by reference, `mailbox:uid:part`, and
copied from the stored message when the letter is saved or sent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from hopthu.directory.auth import Identity
from hopthu.directory.delegations import delegated_to
from hopthu.directory.finding import suggest
from hopthu.errors import HopThuError
from hopthu.mail import DecodeError, binary, parse
from hopthu.mail.compose import (
    ADDRESS_FIELDS,
    Built,
    File,
    Kept,
    Letter,
    SenderChoice,
    body_html,
    body_text,
    build_message,
    envelope_people,
    file_name,
    forward_subject,
    forwarded,
    header_values,
    last_header,
    message_ids,
    quoted,
    reply_subject,
)
from hopthu.mail.headers import clean_text
from hopthu.mail.message import find_attachments
from hopthu.mail.recipients import MAX_TYPED_FIELD, parse_addresses, people_text
from hopthu.mail.richtext import has_formatting, text_to_html
from hopthu.policy import lifecycle, quota
from hopthu.policy.sending import Verdict
from hopthu.smtp.pipeline import Incoming
from hopthu.store.flags import ANSWERED, DRAFT, SEEN
from hopthu.store.types import Target
from hopthu.store.webmail import StoredMessage, stored_one
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.client import client_address
from hopthu.web.deps import services_of
from hopthu.web.folders import FolderView, find, flat, folders, special, visible
from hopthu.web.htmlmail import written_html
from hopthu.web.i18n import language
from hopthu.web.security import csrf_ok
from hopthu.web.templating import VIETNAM, page

log = logging.getLogger(__name__)
router = APIRouter()

COMPOSE = "/soan-thu"
SAVE_DRAFT = "/soan-thu/nhap"
DIRECTORY = "/soan-thu/danh-ba"
MAX_RECIPIENTS = 500
MAX_ADDRESS_FIELD = MAX_TYPED_FIELD  # a longer address field is dropped whole, before it is read
MAX_FIELD = 8 * 1024 * 1024  # a form field (the body) larger than this is refused
INLINE_READ = 256 * 1024  # stored messages larger than this are read in a thread
SUGGESTIONS = 10
Text = tuple[str, str]  # (Vietnamese, English)

_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_PART = re.compile(r"\d{1,4}(?:\.\d{1,4}){0,20}")
_FIELDS: dict[str, Text] = {"to": ("Đến", "To"), "cc": ("Cc", "Cc"), "bcc": ("Bcc", "Bcc")}
_KINDS = ("tra-loi", "tra-loi-tat-ca", "chuyen-tiep")
_NOT_SENT: Text = ("Thư chưa được gửi:", "The message was not sent:")
_EXPIRED: Text = ("Biểu mẫu đã hết hạn: hãy tải lại trang.", "The form has expired: reload the page.")


# --- the form -----------------------------------------------------------------------------------


async def _letter_from_form(form: FormData) -> Letter:
    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    draft = text("draft").strip()
    body = text("body").replace("\r\n", "\n").replace("\r", "\n")
    written = text("body_html")
    # nh3 is quick, the text alternative is pure Python: a long letter is read off the event loop.
    if len(written) > INLINE_READ:
        rich, words = await asyncio.to_thread(written_html, written)
    else:
        rich, words = written_html(written)
    # An address field past its bound is dropped here, before anything reads, echoes or saves it.
    oversized = tuple(key for key in _FIELDS if len(text(key)) > MAX_ADDRESS_FIELD)
    return Letter(
        sender=text("from").strip(),
        to="" if "to" in oversized else text("to"),
        cc="" if "cc" in oversized else text("cc"),
        bcc="" if "bcc" in oversized else text("bcc"),
        oversized=oversized,
        subject=" ".join(clean_text(text("subject")).split()),
        body=words if written.strip() else body,
        html=rich if has_formatting(rich) else "",
        in_reply_to=" ".join(message_ids(text("in_reply_to"), 1)),
        references=" ".join(message_ids(text("references"))),
        origin=text("origin") if re.fullmatch(r"\d+:\d+", text("origin")) else "",
        draft=int(draft) if draft.isdigit() else None,
        kept=[Kept(value, "", "", 0) for value in form.getlist("keep") if isinstance(value, str)],
    )


# --- who may send as what -----------------------------------------------------------------------


async def _senders(request: Request, who: SignedIn) -> list[SenderChoice]:
    """The person's own address, then the agency mailboxes they may send from (R8.2)."""
    services = services_of(request)
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
    row: StoredMessage
    data: bytes


async def _stored(request: Request, views: list[FolderView], mailbox_id: int, uid: int) -> Stored | None:
    """One of the person's messages (404 for a folder of someone else), or None if it is gone."""
    store = services_of(request).store
    box = find(views, mailbox_id)
    row = await stored_one(store.db, mailbox_id, uid)
    if row is None:
        return None
    if row.size <= INLINE_READ:
        data = store.blobs.get(row.blob_hash)
    else:
        data = await asyncio.to_thread(store.blobs.get, row.blob_hash)
    return Stored(box, uid, row, data)


def _moment(row: StoredMessage) -> dt.datetime:
    return (row.sent_at or row.internal_date).astimezone(VIETNAM)


def _quote(stored: Stored, lang: str) -> str:
    row = stored.row
    return quoted(stored.data, row.structure, sender=row.sender, when=_moment(row), lang=lang)


def _forwarded(stored: Stored, lang: str) -> str:
    row = stored.row
    return forwarded(
        stored.data,
        row.structure,
        envelope=row.envelope,
        sender=row.sender,
        subject=row.subject,
        when=_moment(row),
        lang=lang,
    )


def _kept_in_hand(files: list[File]) -> list[Kept]:
    return [Kept(f.ref or "", f.name, f.content_type, len(f.data)) for f in files]


def _kept_of(stored: Stored) -> list[Kept]:
    return [
        Kept(
            f"{stored.mailbox.id}:{stored.uid}:{a.part}",
            file_name(a),
            a.content_type,
            a.decoded_size,
        )
        for a in find_attachments(stored.data, stored.row.structure)
    ]


@dataclass(frozen=True, slots=True)
class Signature:
    """The person's signature (account settings) as a letter starts with it."""

    text: str  # below what they write, after the usual "-- "; "" without a signature
    html: str  # the signature written with formatting, cleaned when saved; "" without formatting

    def lines(self, before: str, after: str = "") -> str:
        """The editor's start: `before`, the signature, then `after` (text lines, quoted with "> ")."""
        if not self.html:
            return text_to_html(before + self.text + after)
        return text_to_html(before + "\n\n-- ") + self.html + (text_to_html(after) if after else "")


async def _signature(request: Request, who: SignedIn) -> Signature:
    preferences = await services_of(request).directory.preferences.get(who.account.id)
    text = preferences.signature.replace("\r\n", "\n").strip("\n")
    return Signature(f"\n\n-- \n{text}" if text.strip() else "", preferences.signature_html)


async def _answer(request: Request, who: SignedIn, kind: str, mailbox_id: int, uid: int) -> Letter:
    """A reply, a reply to all, or a forward of one of the person's messages."""
    services = services_of(request)
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
        original = _forwarded(stored, lang)
        return Letter(
            sender=choices[0].address,
            subject=forward_subject(subject),
            body=signature.text + original,
            # a line to write on, the signature, then the original in a quote
            html=signature.lines("\n", "\n")
            + f"<blockquote>{text_to_html(original.strip(chr(10)))}</blockquote>",
            kept=_kept_of(stored),
        )
    mine = {c.address.lower() for c in choices}
    to = envelope_people(envelope, "reply_to") or envelope_people(envelope, "from")
    if all(address.lower() in mine for _, address in to):  # answering what the person sent
        to = envelope_people(envelope, "to") or to
    cc: list[tuple[str, str]] = []
    if kind == "tra-loi-tat-ca":
        taken = mine | {address.lower() for _, address in to}
        for name, address in envelope_people(envelope, "to") + envelope_people(envelope, "cc"):
            if address.lower() not in taken:
                taken.add(address.lower())
                cc.append((name, address))
    # Answer from the address the message came to, when the person may send as it (R8.2).
    addressed = {a.lower() for _, a in envelope_people(envelope, "to") + envelope_people(envelope, "cc")}
    sender = next((c.address for c in choices if c.address.lower() in addressed), choices[0].address)
    message_id = envelope.get("message_id") or ""
    references = message_ids(b" ".join(header_values(stored.data, b"references")).decode("latin-1"))
    if not references and envelope.get("in_reply_to"):
        references = message_ids(envelope["in_reply_to"], 1)
    own_id = message_ids(message_id, 1)
    quote = _quote(stored, lang)
    return Letter(
        sender=sender,
        to=people_text(to),
        cc=people_text(cc),
        subject=reply_subject(subject),
        body=signature.text + quote,
        html=signature.lines("\n", quote.rstrip("\n")),  # a line to write on, then the quote
        in_reply_to=" ".join(own_id),
        references=" ".join((references + own_id)[-30:]),
        origin=f"{mailbox_id}:{uid}",
    )


async def _reopen(request: Request, who: SignedIn, uid: int) -> Letter:
    """A draft from Drafts, as it was last saved (from our own headers when it has them)."""
    mail = services_of(request).store.mail
    views = await folders(mail, who.account.id)
    drafts = special(views, "\\Drafts")
    stored = await _stored(request, views, drafts.id, uid)
    if stored is None:
        raise HTTPException(404)
    envelope = stored.row.envelope or {}
    data = stored.data

    def people(name: str) -> str:
        typed = last_header(data, b"x-hopthu-" + name.encode())
        return typed if typed is not None else people_text(envelope_people(envelope, name))

    authors = envelope_people(envelope, "from")
    written = body_html(data, stored.row.structure)
    rich = written_html(written)[0] if written else ""
    origin = last_header(data, b"x-hopthu-origin") or ""
    return Letter(
        sender=authors[0][1] if authors else "",
        to=people("to"),
        cc=people("cc"),
        bcc=people("bcc"),
        subject=clean_text(stored.row.subject or ""),
        body=body_text(data, stored.row.structure).rstrip("\n"),
        html=rich if has_formatting(rich) else "",
        in_reply_to=" ".join(message_ids(envelope.get("in_reply_to") or "", 1)),
        references=" ".join(message_ids(b" ".join(header_values(data, b"references")).decode("latin-1"))),
        origin=origin if re.fullmatch(r"\d+:\d+", origin) else "",
        draft=uid,
        kept=_kept_of(stored),
    )


async def _kept_files(request: Request, who: SignedIn, refs: list[str]) -> tuple[list[File], list[Text]]:
    """The stored files the letter keeps, in the order given, and what could not be found."""
    views = flat(await visible(services_of(request), who.account.id))
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
        files.append(File(file_name(found), found.content_type, content, ref))
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


async def _save_draft(
    request: Request, who: SignedIn, letter: Letter, files: list[File]
) -> tuple[Letter | None, Text | None]:
    """Store this version in Drafts and remove the one it replaces: the letter as saved (its new
    UID, its files kept from the new version), or why it could not be saved."""
    services = services_of(request)
    mail = services.store.mail
    views = await folders(mail, who.account.id)
    drafts = special(views, "\\Drafts")
    choices = await _senders(request, who)
    author = _chosen(choices, letter.sender) or choices[0]
    people = {key: parse_addresses(letter.typed(key))[0] for key in ADDRESS_FIELDS}
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
            file_name(a),
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
    errors_title: Text = _NOT_SENT,
    notice: Text | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    services = services_of(request)
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
        start_html=letter.html or text_to_html(letter.body),
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
        signature = await _signature(request, who)
        letter = Letter(
            to=den[:2000], body=signature.text, html=signature.lines("") if signature.html else ""
        )
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
        return await _render(request, who, await _letter_from_form(form), errors=[_EXPIRED], status_code=400)
    letter = await _letter_from_form(form)
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
    return services_of(request).router.ctx.now()


def _pick(request: Request, text: Text) -> str:
    return text[1] if language(request) == "en" else text[0]


def _attachment_problem(request: Request, files: list[File]) -> Text | None:
    """R5.1 for what a draft keeps: files over the limit are not stored in Drafts (a draft never goes
    through the pipeline, which decides the same for a message sent)."""
    rules = services_of(request).router.ctx.quota_rules
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
    router_ = services_of(request).router
    people: dict[str, list[tuple[str, str]]] = {}
    problems: list[Text] = []
    problems += _oversized(letter)
    for key, (vi, en) in _FIELDS.items():
        people[key], bad = parse_addresses(letter.typed(key))
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
    """R3.1, as submission counts them (`smtp.limits` counts, `policy.sending` decides; an account
    far over the hard limit is locked, R6.4a): None when all may go, else why not in the page's words."""
    limits = services_of(request).limits
    if limits is None:
        return None
    verdict = await limits.admit(who.account.id, who.account.local, count)
    if verdict is Verdict.LOCK:
        return (
            "Hộp thư bị tạm khóa do gửi quá nhiều thư (R6.4a). Hãy liên hệ hotro@.",
            "The mailbox is locked for sending too much mail (R6.4a). Contact hotro@.",
        )
    if verdict is Verdict.DEFER:
        allowed = limits.limits
        return (
            f"Bạn đã gửi tới quá nhiều người nhận (tối đa {allowed.per_hour} mỗi giờ, {allowed.per_day}"
            " mỗi ngày). Hãy thử lại sau.",
            f"You have sent to too many recipients (at most {allowed.per_hour} an hour, {allowed.per_day}"
            " a day). Try again later.",
        )
    return None


def _choose_again(uploads: Sequence[File]) -> Text:
    """A page without its script cannot be given back the files just chosen (a browser never lets a
    page fill a file field), and a refused letter is not stored: the person is told which to choose
    again."""
    names = ", ".join(f"“{f.name}”" for f in uploads)
    return (
        f"Các tệp vừa chọn không được giữ lại khi thư chưa gửi được: hãy chọn lại {names}.",
        f"The files just chosen are not kept when a message is not sent: choose {names} again.",
    )


async def _not_sent(
    request: Request,
    who: SignedIn,
    letter: Letter,
    problems: list[Text],
    *,
    uploads: Sequence[File] = (),
    gone: Sequence[str] = (),
    status_code: int = 400,
) -> Response:
    """Back to the letter, as written, with what is wrong; nothing is stored. A refused letter is not
    a draft: Drafts gets one only from "Lưu nháp" or the page's saving while the person types, so a
    refusal never hides the letter in a folder the person is not looking at.

    The page's script (it asks for JSON) keeps what is on the page, files included, and shows the
    words; it is told which kept files are `gone` so it can drop them. A page without the script
    gets the letter back and the names of the files to choose again. Files over the attachment limit
    (R5.1) answer 413."""
    if _wants_json(request):
        return JSONResponse(
            {
                "title": _pick(request, _NOT_SENT),
                "errors": [_pick(request, problem) for problem in problems],
                "gone": list(gone),
            },
            status_code=status_code,
        )
    if uploads:
        problems = [*problems, _choose_again(uploads)]
    return await _render(request, who, letter, errors=problems, status_code=status_code)


@router.post(COMPOSE)
async def send(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> Response:
    """Send the letter; when it cannot go, back to it with why (see `_not_sent`)."""
    services = services_of(request)
    form = await _form(request)
    csrf = form.get("csrf")
    if not csrf_ok(request, csrf if isinstance(csrf, str) else None):
        return await _not_sent(request, who, await _letter_from_form(form), [_EXPIRED])
    letter = await _letter_from_form(form)
    choices = await _senders(request, who)
    author = _chosen(choices, letter.sender)
    people, recipients, problems = await _recipients(request, letter)
    if author is None:
        problems.append(
            ("Bạn không được gửi thư với địa chỉ này (R3.2).", "You may not send as this address (R3.2).")
        )
    refs = [k.ref for k in letter.kept]
    kept, missing = await _kept_files(request, who, refs)
    letter.kept = _kept_in_hand(kept)
    found = {f.ref for f in kept}
    gone = [ref for ref in refs if ref not in found]
    problems += missing
    uploads = await _uploads(form)
    files = kept + uploads
    too_large = _attachment_problem(request, files)
    if too_large:
        problems.append(too_large)
    if problems or author is None:
        status_code = 413 if too_large else 400
        return await _not_sent(
            request, who, letter, problems, uploads=uploads, gone=gone, status_code=status_code
        )
    refused = await _count_recipients(request, who, len(recipients))
    if refused:
        return await _not_sent(request, who, letter, [refused], uploads=uploads, gone=gone)
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
    if not outcome.accepted:
        limits = getattr(services, "limits", None)
        if limits is not None:
            limits.release(who.account.id, len(recipients))
        return await _not_sent(request, who, letter, [outcome.words], uploads=uploads, gone=gone)
    sent_copy = await _keep_copy(request, who, built)
    await _after_sending(request, who, letter)
    views = await folders(services.store.mail, who.account.id)
    notice = "1" if sent_copy else "khong-luu"
    location = f"/thu/{special(views, None).id}?da-gui={notice}"
    if _wants_json(request):
        return JSONResponse({"location": location})
    return RedirectResponse(location, status_code=303)


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
    mail = services_of(request).store.mail
    data = built.data(bcc=True)
    views = await folders(mail, who.account.id)
    sent = special(views, "\\Sent")
    target = Target(who.account.id, who.account.quota_bytes, sent.name, flags=SEEN)
    (delivered,) = await mail.deliver(data, parse(data), [target])
    return delivered.uid is not None


async def _after_sending(request: Request, who: SignedIn, letter: Letter) -> None:
    """The draft goes; the message answered is marked \\Answered (as IMAP clients do)."""
    services = services_of(request)
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
    """People and agency mailboxes whose name (without diacritics) or address starts like `query`
    (`directory.finding.suggest`), as the page's script shows them: a person's agency beside their
    name unless the name already says it."""
    services = services_of(request)
    domain = services.settings.server.domain
    return [
        {
            "name": found.display_name,
            "address": f"{found.local}@{domain}",
            "agency": found.agency
            if found.kind != "agency" and found.agency not in found.display_name
            else "",
        }
        for found in await suggest(services.store.db, query, limit)
    ]


@router.get(DIRECTORY)
async def directory(
    request: Request, who: Annotated[SignedIn, Depends(signed_in)], q: str = ""
) -> JSONResponse:
    """Up to ten addresses from the city directory for the compose page's address fields."""
    found = await suggestions(request, q[:100]) if len(q.strip()) >= 2 else []
    return JSONResponse(found, headers={"Cache-Control": "private, max-age=60"})
