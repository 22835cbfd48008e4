"""Looking after one's mail: the person's own folders (create, rename, delete), emptying Trash and
Junk (R5.1: space given back at once), and taking a folder away as an mbox file or a zip of .eml
files (R11.3).

Folder changes go through the store's `Folders`, with IMAP's rules on names, so a mail client open
beside the browser sees them at once. The folders every account has (Inbox and the special-use ones)
are never renamed or deleted, and no folder of one's own may take the name, or the Vietnamese or
English label, of one of them. Deleting a folder first moves its mail to Trash: nothing is lost by a
wrong click.

Exports are streamed: the bodies are read one at a time (our delivery headers first, as IMAP serves
them), so a folder of any size costs the memory of one message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import zipfile
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from hopthu.errors import HopThuError
from hopthu.store import reading, webmail
from hopthu.store.flags import ANSWERED, FLAGGED, SEEN
from hopthu.store.folders import SEPARATOR, check_name
from hopthu.store.webmail import ExportedMessage
from hopthu.text import ascii_text, fold
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import WebServices, services_of
from hopthu.web.exports import EntryNames, ZipSink, safe_part
from hopthu.web.folders import FolderView, find, folders, reachable, special, visible
from hopthu.web.forms import CheckedForm
from hopthu.web.i18n import language
from hopthu.web.params import RowId
from hopthu.web.templating import VIETNAM, page

router = APIRouter()
CHUNK = 1_000  # messages moved or removed per transaction
INLINE_READ = 256 * 1024  # larger bodies are read in a thread, off the event loop
EMPTIABLE = ("\\Trash", "\\Junk")


def is_system(view: FolderView) -> bool:
    return view.name == "INBOX" or view.special_use is not None


# --- folders -----------------------------------------------------------------------------------


async def _manage_page(
    request: Request,
    who: SignedIn,
    *,
    error: HopThuError | None = None,
    typed: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    groups = await visible(services_of(request), who.account.id)
    views = groups[0].folders  # the person's own folders (agency mailboxes are the agency's to arrange)
    done = request.query_params.get("da")
    return page(
        request,
        "folders.html",
        who=who,
        status_code=status_code,
        groups=groups,
        folders=views,
        current=None,
        system=[v for v in views if is_system(v)],
        own=[v for v in views if not is_system(v)],
        error=error,
        typed=typed,
        done=done if done in ("tao", "doi-ten", "xoa") else None,
        done_name=request.query_params.get("ten", "")[:500],
    )


def _checked_name(typed: str, views: list[FolderView]) -> str:
    """A new folder name the person may use, or HopThuError saying why not."""
    name = check_name(typed.strip())
    for view in views:
        if is_system(view) and fold(name) in {fold(view.name), fold(view.vi), fold(view.en)}:
            raise HopThuError(
                f"Tên «{typed.strip()}» trùng với thư mục hệ thống «{view.vi}»; hãy chọn tên khác",
                f"The name «{typed.strip()}» is that of the system folder «{view.en}»; choose another",
                code="conflict",
            )
    return name


def _system_refusal(view: FolderView, doing_vi: str, doing_en: str) -> HopThuError:
    return HopThuError(
        f"Không thể {doing_vi} thư mục hệ thống «{view.vi}»: mọi hộp thư đều cần thư mục này",
        f"The system folder «{view.en}» cannot be {doing_en}: every mailbox needs it",
        code="cannot",
    )


def _done(kind: str, name: str) -> RedirectResponse:
    return RedirectResponse("/thu-muc?" + urlencode({"da": kind, "ten": name}), status_code=303)


@router.get("/thu-muc", response_class=HTMLResponse)
async def manage(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> HTMLResponse:
    return await _manage_page(request, who)


@router.post("/thu-muc")
async def create(
    request: Request,
    services: WebServices,
    who: CheckedForm,
    ten: Annotated[str, Form()] = "",
) -> Response:
    store = services.store
    views = await folders(store.mail, who.account.id)
    try:
        name = _checked_name(ten, views)
        await store.folders.create(who.account.id, name)
    except HopThuError as error:
        return await _manage_page(request, who, error=error, typed=ten, status_code=400)
    return _done("tao", name)


@router.post("/thu-muc/{mailbox_id}/doi-ten")
async def rename(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    who: CheckedForm,
    ten: Annotated[str, Form()] = "",
) -> Response:
    store = services.store
    views = await folders(store.mail, who.account.id)
    current = find(views, mailbox_id)
    try:
        if is_system(current):
            raise _system_refusal(current, "đổi tên", "renamed")
        name = _checked_name(ten, views)
        if name != current.name:
            await store.folders.rename(who.account.id, current.name, name)
    except HopThuError as error:
        return await _manage_page(request, who, error=error, status_code=400)
    return _done("doi-ten", name)


@router.post("/thu-muc/{mailbox_id}/xoa")
async def delete(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    who: CheckedForm,
) -> Response:
    """Delete one of the person's folders; its mail goes to Trash first."""
    store = services.store
    mail = store.mail
    owner = who.account.id
    views = await folders(mail, owner)
    current = find(views, mailbox_id)
    try:
        if is_system(current):
            raise _system_refusal(current, "xóa", "deleted")
        if any(view.name.startswith(current.name + SEPARATOR) for view in views):
            raise HopThuError(
                f"Thư mục «{current.name}» còn thư mục con; hãy xóa các thư mục con trước",
                f"The folder «{current.name}» has folders inside; delete them first",
                code="haschildren",
            )
        trash = special(views, "\\Trash")
        uids = await reading.uids(store.db, mailbox_id)
        for start in range(0, len(uids), CHUNK):
            moved = await mail.editor.copy(
                (owner, mailbox_id),
                uids[start : start + CHUNK],
                (owner, trash.id),
                quota=who.account.quota_bytes,
                move=True,
            )
            if moved.refused:
                raise HopThuError(
                    "Không chuyển được thư sang Thùng rác; thư mục chưa bị xóa",
                    "The mail could not be moved to Trash; the folder was not deleted",
                )
        await store.folders.delete(owner, current.name)
    except HopThuError as error:
        return await _manage_page(request, who, error=error, status_code=400)
    return _done("xoa", current.name)


# --- emptying Trash and Junk -------------------------------------------------------------------


@router.post("/thu/{mailbox_id}/lam-trong")
async def empty(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    who: CheckedForm,
) -> Response:
    """Remove every message of Trash or Junk for good (the list page asks to confirm first)."""
    store = services.store
    current = await reachable(services, who.account.id, mailbox_id)
    if current.special_use not in EMPTIABLE:
        return page(
            request,
            "message.html",
            who=who,
            status_code=400,
            title=("Không làm trống được thư mục này", "This folder cannot be emptied"),
            text=(
                "Chỉ Thùng rác và Thư rác được làm trống. Hãy chọn thư và bấm Xóa.",
                "Only Trash and Junk can be emptied. Choose messages and press Delete.",
            ),
        )
    uids = await reading.uids(store.db, mailbox_id)
    for start in range(0, len(uids), CHUNK):
        await store.mail.editor.expunge(current.account_id, mailbox_id, uids[start : start + CHUNK])
    return RedirectResponse(f"/thu/{mailbox_id}", status_code=303)


# --- export ------------------------------------------------------------------------------------


async def _each_message(request: Request, mailbox_id: int) -> AsyncIterator[tuple[ExportedMessage, bytes]]:
    """Every message of the mailbox, oldest first: (row, bytes as IMAP serves them)."""
    store = services_of(request).store
    async for row, data in webmail.with_bodies(store.db, store.blobs, mailbox_id):
        yield row, data


def _download_name(view: FolderView, lang: str, extension: str) -> dict[str, str]:
    label = view.label(lang)
    plain = "".join(ch if ch.isalnum() else "-" for ch in ascii_text(label)).strip("-") or "thu-muc"
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{plain}.{extension}\"; filename*=UTF-8''{quote(label)}.{extension}"
        ),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


def _from_line(row: ExportedMessage) -> bytes:
    """The mbox separator line: `From sender asctime` (the time received, UTC)."""
    sender = "MAILER-DAEMON"
    for address in (row.envelope or {}).get("from") or []:
        mailbox, host = address[2], address[3]
        candidate = f"{mailbox}@{host}" if mailbox and host else ""
        if candidate and candidate.isascii() and not any(ch.isspace() for ch in candidate):
            sender = candidate
        break
    return f"From {sender} {time.asctime(row.internal_date.utctimetuple())}\n".encode()


def _status_lines(flags: int) -> bytes:
    """mutt's and Thunderbird's way of keeping read, answered and flagged in an mbox."""
    status = b"Status: " + (b"RO" if flags & SEEN else b"O") + b"\n"
    extra = (b"A" if flags & ANSWERED else b"") + (b"F" if flags & FLAGGED else b"")
    return status + (b"X-Status: " + extra + b"\n" if extra else b"")


def mbox_entry(row: ExportedMessage, data: bytes) -> bytes:
    """One message in mboxrd form: LF line ends, body lines `>*From ` quoted with one more `>`."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    quoted = [b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in lines]
    return _from_line(row) + _status_lines(row.flags) + b"\n".join(quoted) + b"\n\n"


@router.post("/thu/{mailbox_id}/tai-ve/mbox")
async def export_mbox(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    who: CheckedForm,
) -> Response:
    """The folder as one mbox file. A POST with the CSRF token, as the zip below."""
    current = await reachable(services, who.account.id, mailbox_id)

    async def stream() -> AsyncIterator[bytes]:
        async for row, data in _each_message(request, mailbox_id):
            if len(data) <= INLINE_READ:
                yield mbox_entry(row, data)
            else:  # a large message is reworked off the event loop's thread
                yield await asyncio.to_thread(mbox_entry, row, data)

    return StreamingResponse(
        stream(),
        media_type="application/mbox",
        headers=_download_name(current, language(request), "mbox"),
    )


_ZIP_EPOCH = dt.datetime(1980, 1, 1, tzinfo=VIETNAM)


def eml_name(number: int, subject: str) -> str:
    return f"{number:05d} {safe_part(subject)}".rstrip() + ".eml"


@router.post("/thu/{mailbox_id}/tai-ve/zip")
async def export_zip(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    who: CheckedForm,
) -> Response:
    """The folder as a zip of .eml files. A POST with the CSRF token: an export reads the whole
    folder, work that a link or an image planted in a page or a mail must not set off."""
    current = await reachable(services, who.account.id, mailbox_id)
    return StreamingResponse(
        zip_of(request, [("", mailbox_id)]),
        media_type="application/zip",
        headers=_download_name(current, language(request), "zip"),
    )


async def zip_of(request: Request, folders: list[tuple[str, int]]) -> AsyncIterator[bytes]:
    """A zip of .eml files, streamed as it is written: each (folder name, mailbox id) in a folder of
    the archive of that name ("" for none; a mail folder's hierarchy becomes the archive's)."""
    sink = ZipSink()
    names = EntryNames()  # whatever a folder or a subject is called, every entry stays inside
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for folder, mailbox_id in folders:
            number = 0
            place = names.folder(folder)
            async for row, data in _each_message(request, mailbox_id):
                number += 1
                envelope = row.envelope or {}
                subject = envelope.get("subject_text") or envelope.get("subject") or ""
                received = max(row.internal_date.astimezone(VIETNAM), _ZIP_EPOCH)  # zip knows no earlier
                entry = zipfile.ZipInfo(
                    names.entry(place, eml_name(number, subject)), received.timetuple()[:6]
                )
                entry.compress_type = zipfile.ZIP_DEFLATED
                await asyncio.to_thread(archive.writestr, entry, data)
                yield sink.take()
    yield sink.take()  # the central directory, written on closing
