"""Reading one message: its header, its body in a sandboxed frame (see `htmlmail`), the other messages
of its conversation, its files to download, its original source, and a print view. Opening a message
marks it read, through the same store operation as IMAP's FETCH BODY[] (so an open mail client hears
of it at once)."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hopthu.mail import DecodeError, binary, find_part
from hopthu.mail.envelope import address_text, display_name
from hopthu.mail.message import Attachment, find_attachments
from hopthu.mail.report import returned
from hopthu.mail.structure import Node
from hopthu.store import webmail
from hopthu.store.flags import SEEN
from hopthu.store.webmail import Conversation, StoredMessage
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import WebServices, services_of
from hopthu.web.folders import FolderView, MailboxGroup, find, flat, note_opened, visible
from hopthu.web.htmlmail import render_body
from hopthu.web.params import RowId, Uid
from hopthu.web.templating import page

router = APIRouter()
INLINE_READ = 256 * 1024  # larger bodies are read in a thread, off the event loop
# The frame's own policy (CSP Level 3): no script, no form, no font, no style sheet fetched; images
# only from this message's own parts (a host-source with a path ending in "/" matches that prefix
# alone, §6.7.2.12) and, once the reader allowed them, from outside. Not 'self': a mail must not make
# the reader's browser ask our site for anything else with their cookies. The sandbox keeps the same
# origin only so the reading page can size the frame; without scripts it gives the mail nothing.
_FRAME_POLICY = (
    "default-src 'none'; img-src {parts} data:{remote}; style-src 'unsafe-inline'; font-src 'none'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'self'; "
    "sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox"
)
# Folders whose messages are no one's conversation: what was thrown away or judged spam. A message
# opened there still shows the conversation it belongs to.
_OUTSIDE_CONVERSATIONS = frozenset({"\\Trash", "\\Junk"})
_HOST = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


@dataclass(frozen=True, slots=True)
class Opened:
    row: StoredMessage
    data: bytes  # the stored body (our delivery headers not included)
    folder: FolderView
    groups: list[MailboxGroup]  # the sidebar, as it was read to check the folder


async def _open(request: Request, who: SignedIn, mailbox_id: int, uid: int) -> Opened:
    """The person's message, or 404 (a message of someone else is never shown)."""
    services = services_of(request)
    store = services.store
    groups = await visible(services, who.account.id)
    folder = find(flat(groups), mailbox_id)
    note_opened(request, who.account.id, folder)
    row = await webmail.stored_one(store.db, mailbox_id, uid)
    if row is None:
        raise HTTPException(404)
    if row.size <= INLINE_READ:
        data = store.blobs.get(row.blob_hash)
    else:
        data = await asyncio.to_thread(store.blobs.get, row.blob_hash)
    return Opened(row, data, folder, groups)


def own_hosts(request: Request) -> frozenset[str]:
    """The names our site answers to: the public URL's and the one this browser used."""
    public = urlsplit(services_of(request).settings.server.web_url).hostname or ""
    used = urlsplit(f"//{request.headers.get('host', '')}").hostname or ""
    return frozenset(name.lower().rstrip(".") for name in (public, used) if name)


def parts_source(request: Request, base: str) -> str:
    """The CSP source of this message's parts: this host and the parts' path ("'none'" when the Host
    header is not a plain host, which a browser never sends)."""
    host = request.headers.get("host", "")
    return f"{host}{base}" if _HOST.fullmatch(host) else "'none'"


async def _conversation(
    services: WebServices, views: list[FolderView], current: FolderView, uid: int
) -> Conversation | None:
    """The opened message's conversation among the folders of the mailbox it is in (the person's own,
    or the agency's it was opened from), when it has other messages."""
    boxes = [
        view.id
        for view in views
        if view.account_id == current.account_id and view.special_use not in _OUTSIDE_CONVERSATIONS
    ]
    found = await webmail.conversation(services.store.db, boxes, current.id, uid)
    return found if found is not None and found.total > 1 else None


def _people(envelope: dict, field: str) -> list[str]:
    shown = []
    for address in envelope.get(field) or []:
        name, mailbox = display_name(address), address_text(address)
        if mailbox:
            shown.append(f"{name} <{mailbox}>" if name else mailbox)
    return shown


def _content_ids(node: Node, number: str = "") -> dict[str, str]:
    """Content-ID (without <>) to IMAP part number, for inline images."""
    found: dict[str, str] = {}
    children = node.get("parts") if node["kind"] == "multipart" else None
    if children:
        for i, child in enumerate(children, 1):
            found.update(_content_ids(child, f"{number}.{i}" if number else str(i)))
    elif node.get("id"):
        found[node["id"].strip("<> ")] = number or "1"
    return found


@router.get("/thu/{mailbox_id}/{uid}", response_class=HTMLResponse)
async def read(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    uid: Uid,
    who: Annotated[SignedIn, Depends(signed_in)],
    anh: int = 0,
) -> Response:
    opened = await _open(request, who, mailbox_id, uid)
    row = opened.row
    current = opened.folder
    if current.special_use == "\\Drafts" and current.account_id == who.account.id:
        return RedirectResponse(f"/soan-thu?nhap={uid}", status_code=303)  # a draft opens to be written
    groups = opened.groups
    if not row.flags & SEEN:
        await services.store.mail.editor.set_flags(current.account_id, mailbox_id, [uid], "+", SEEN)
        groups = await visible(services, who.account.id)  # the unread counts just changed
    views = flat(groups)
    body = render_body(
        opened.data, row.structure, images=bool(anh), inline=lambda _cid: None, own_hosts=own_hosts(request)
    )
    envelope = row.envelope or {}
    printing = "in" in request.query_params
    return page(
        request,
        "mail_read.html",
        who=who,
        groups=groups,
        folders=[view for view in views if view.account_id == current.account_id],
        current=find(views, mailbox_id),
        uid=uid,
        row=row,
        sender=row.sender,
        to=_people(envelope, "to"),
        cc=_people(envelope, "cc"),
        attachments=find_attachments(opened.data, row.structure),
        returned=returned(opened.data, row.structure),
        blocked=body.blocked_images,
        images=bool(anh),
        printing=printing,
        conversation=None if printing else await _conversation(services, views, current, uid),
        folder_labels={view.id: (view.vi, view.en) for view in views},
    )


@router.get("/thu/{mailbox_id}/{uid}/noi-dung", response_class=HTMLResponse)
async def content(
    request: Request, mailbox_id: RowId, uid: Uid, who: Annotated[SignedIn, Depends(signed_in)], anh: int = 0
) -> HTMLResponse:
    """The body alone, for the sandboxed frame of the reading page."""
    opened = await _open(request, who, mailbox_id, uid)
    ids = _content_ids(opened.row.structure)
    base = f"/thu/{mailbox_id}/{uid}/tep/"
    body = render_body(
        opened.data,
        opened.row.structure,
        images=bool(anh),
        inline=lambda cid: base + ids[cid] if cid in ids else None,
        own_hosts=own_hosts(request),
    )
    document = (
        '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
        "<style>body{font-family:Arial,sans-serif;margin:0;padding:.5rem;overflow-wrap:anywhere}"
        "pre.text{white-space:pre-wrap;font-family:inherit}img{max-width:100%;height:auto}</style>"
        f"</head><body>{body.html}</body></html>"
    )
    return HTMLResponse(
        document,
        headers={
            "Content-Security-Policy": _FRAME_POLICY.format(
                parts=parts_source(request, base), remote=" https: http:" if anh else ""
            ),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.get("/thu/{mailbox_id}/{uid}/tep/{part}")
async def attachment(
    request: Request,
    mailbox_id: RowId,
    uid: Uid,
    part: str,
    who: Annotated[SignedIn, Depends(signed_in)],
    xem: bool = False,
) -> Response:
    """One part of the message, decoded, as a download (inline images are asked for the same way).
    `xem` ("view") asks to see a file in the browser: granted to an image or a PDF as its bytes say
    it is (`viewable_type`), whatever type the sender declared; anything else is still a download."""
    opened = await _open(request, who, mailbox_id, uid)
    known: dict[str, Attachment] = {a.part: a for a in find_attachments(opened.data, opened.row.structure)}
    inline = set(_content_ids(opened.row.structure).values())
    if part not in known and part not in inline:
        raise HTTPException(404)
    try:
        data = binary(opened.data, opened.row.structure, part)
    except DecodeError:
        raise HTTPException(422) from None
    file = known.get(part)
    name = (file.filename if file else None) or f"phan-{part}"
    media = file.content_type if file else "application/octet-stream"
    disposition = "inline" if part in inline and file is None else "attachment"
    if disposition == "inline":
        media = _image_type(opened.row.structure, part)
    elif xem and (seen := viewable_type(data)):
        disposition, media = "inline", seen
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=3600",
        },
    )


_VIEWABLE = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def viewable_type(data: bytes) -> str | None:
    """The type of a file the browser may show itself, read from its first bytes: a PDF or a raster
    image (WebP's RIFF header names its format at byte 8). Never SVG or HTML, which could run script."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((media for magic, media in _VIEWABLE if data.startswith(magic)), None)


def _image_type(structure: Node, part: str) -> str:
    node = find_part(structure, part)
    kind = f"{node.get('type', '')}/{node.get('subtype', '')}".lower() if node else ""
    return (
        kind if kind.startswith("image/") and kind not in ("image/svg+xml",) else "application/octet-stream"
    )


@router.get("/thu/{mailbox_id}/{uid}/goc")
async def source(
    request: Request, mailbox_id: RowId, uid: Uid, who: Annotated[SignedIn, Depends(signed_in)]
) -> Response:
    """The original message as it was received (our delivery headers first), as plain text."""
    opened = await _open(request, who, mailbox_id, uid)
    return Response(
        (opened.row.prefix or b"") + opened.data,
        media_type="text/plain; charset=utf-8",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
