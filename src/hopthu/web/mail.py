"""The mail pages: a folder's messages (newest first, or sorted by date, sender, subject or size) a page
at a time from the matching (mailbox, key, uid) index; actions on the messages chosen (read, unread,
flag, move, delete); and the event stream that tells open pages of new mail and changes as the store
commits them (server-sent events).

Deleting moves to Trash; deleting in Trash (or Junk) removes for good. Every action goes through the
same store operations as IMAP, so an IMAP client open beside the browser hears of it at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from hopthu.store.flags import FLAGGED, SEEN
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import WebServices
from hopthu.web.folders import find, flat, folders, note_opened, reachable, special, visible
from hopthu.web.forms import CheckedForm
from hopthu.web.params import RowId
from hopthu.web.templating import page

router = APIRouter()
PAGE_SIZE = 50
# The list's orders as they appear in addresses, and the store's name for each.
SORTS = {
    "moi-nhat": "newest",
    "cu-nhat": "oldest",
    "nguoi-gui": "sender",
    "tieu-de": "subject",
    "lon-nhat": "largest",
}
DEFAULT_SORT = "moi-nhat"
OUTGOING = ("\\Sent", "\\Drafts")  # folders of mail the mailbox sent: listed by recipient
KEEPALIVE_SECONDS = 25.0
_FLAG_ACTIONS = {"read": ("+", SEEN), "unread": ("-", SEEN), "flag": ("+", FLAGGED), "unflag": ("-", FLAGGED)}


@router.get("/thu", include_in_schema=False)
async def inbox(
    request: Request, services: WebServices, who: Annotated[SignedIn, Depends(signed_in)]
) -> RedirectResponse:
    """The inbox, keeping a notice the page was sent here with (e.g. "password changed")."""
    views = await folders(services.store.mail, who.account.id)
    kept = [f"{name}=1" for name in ("doi-mat-khau", "chao") if request.query_params.get(name)]
    notice = "?" + "&".join(kept) if kept else ""
    return RedirectResponse(f"/thu/{special(views, None).id}{notice}", status_code=303)


@router.get("/thu/{mailbox_id}", response_class=HTMLResponse)
async def folder(
    request: Request,
    services: WebServices,
    mailbox_id: RowId,
    who: Annotated[SignedIn, Depends(signed_in)],
    sap: str = DEFAULT_SORT,
    tu: str | None = None,
) -> HTMLResponse:
    """One page of a folder in the order `sap` ("sort by"); `tu` ("from") is where the previous page
    ended: the UID of its last message, with that message's sort key after a colon."""
    groups = await visible(services, who.account.id)
    views = flat(groups)
    current = find(views, mailbox_id)
    note_opened(request, who.account.id, current)
    order = SORTS.get(sap)
    if order is None:
        sap, order = DEFAULT_SORT, SORTS[DEFAULT_SORT]
    messages = await services.store.mail.messages(
        mailbox_id, limit=PAGE_SIZE + 1, order=order, after=_cursor(tu, order)
    )
    more = None
    if len(messages) > PAGE_SIZE:
        last = messages[PAGE_SIZE - 1]
        value = last.sort_value(order)
        more = str(last.uid) if value is None else f"{last.uid}:{value}"
    return page(
        request,
        "mail_list.html",
        who=who,
        groups=groups,
        folders=[view for view in views if view.account_id == current.account_id],
        current=current,
        messages=messages[:PAGE_SIZE],
        more=more,
        first_page=tu is None,
        sort=sap,
        outgoing=current.special_use in OUTGOING,
        own=await _owner_address(services, who, current.account_id),
    )


async def _owner_address(services: WebServices, who: SignedIn, account_id: int) -> str:
    """The address of the mailbox a folder belongs to (the person's, or a delegated agency's),
    lower case: the messages it sent are listed by their recipients wherever they are filed."""
    domain = services.settings.server.domain
    if account_id == who.account.id:
        return who.account.address(domain).lower()
    owner = await services.directory.accounts.get_by_id(account_id)
    return owner.address(domain).lower()


def _cursor(text: str | None, order: str) -> tuple[int, Any] | None:
    """`tu` read back; a cursor that does not parse starts from the first page."""
    if not text:
        return None
    uid, _, value = text.partition(":")
    if not uid.isdigit():
        return None
    if order == "largest":
        return (int(uid), int(value)) if value.isdigit() else None
    return int(uid), value


@router.post("/thu/{mailbox_id}/thao-tac")
async def act(
    services: WebServices,
    mailbox_id: RowId,
    who: CheckedForm,
    action: Annotated[str, Form()],
    uid: Annotated[list[int] | None, Form()] = None,
    target: Annotated[int | None, Form()] = None,
    sap: Annotated[str, Form()] = DEFAULT_SORT,
) -> Response:
    """Apply one action to the messages ticked in the list (R11.3: delete, archive)."""
    query = f"?sap={sap}" if sap in SORTS and sap != DEFAULT_SORT else ""
    back = RedirectResponse(f"/thu/{mailbox_id}{query}", status_code=303)
    mail = services.store.mail
    current = await reachable(services, who.account.id, mailbox_id)
    # Actions stay within the mailbox the folder belongs to (the person's own, or an agency's).
    views = await folders(mail, current.account_id)
    uids = sorted(set(uid or []))
    if not uids:
        return back
    owner = current.account_id
    if action in _FLAG_ACTIONS:
        mode, bit = _FLAG_ACTIONS[action]
        await mail.editor.set_flags(owner, mailbox_id, uids, mode, bit)
    elif action == "delete" and current.special_use in ("\\Trash", "\\Junk"):
        await mail.editor.expunge(owner, mailbox_id, uids)
    elif action in ("delete", "move"):
        destination = special(views, "\\Trash") if action == "delete" else find(views, target or 0)
        if destination.id != mailbox_id:
            await mail.editor.copy(
                (owner, mailbox_id), uids, (owner, destination.id), quota=who.account.quota_bytes, move=True
            )
    return back


@router.get("/su-kien")
async def events(
    request: Request, services: WebServices, who: Annotated[SignedIn, Depends(signed_in)]
) -> StreamingResponse:
    """Server-sent events: `change` with the mailbox id, whenever something in the account changed."""
    bus = services.store.events
    closing: asyncio.Event = request.app.state.closing

    async def stream() -> AsyncIterator[bytes]:
        async with bus.subscribe(who.account.id) as queue:
            yield b"retry: 5000\n\n"
            stop = asyncio.ensure_future(closing.wait())
            get: asyncio.Future | None = None
            try:
                while not closing.is_set():
                    if get is None:  # a pending get is kept: cancelling it could lose a change
                        get = asyncio.ensure_future(queue.get())
                    done, _ = await asyncio.wait(
                        {get, stop}, timeout=KEEPALIVE_SECONDS, return_when="FIRST_COMPLETED"
                    )
                    if get not in done:
                        yield b": keepalive\n\n"
                        continue
                    change, get = get.result(), None
                    data = {
                        "mailbox": change.mailbox_id if change else None,
                        "kind": change.kind if change else "all",
                    }
                    yield b"event: change\ndata: " + json.dumps(data).encode() + b"\n\n"
            finally:
                for waiting in (stop, get):
                    if waiting is not None:
                        waiting.cancel()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
