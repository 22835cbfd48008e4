"""The mail pages: a folder's messages, newest first, a page at a time from the (mailbox, uid) index;
actions on the messages chosen (read, unread, flag, move, delete); and the event stream that tells
open pages of new mail and changes as the store commits them (server-sent events).

Deleting moves to Trash; deleting in Trash (or Junk) removes for good. Every action goes through the
same store operations as IMAP, so an IMAP client open beside the browser hears of it at once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from hopthu.store.flags import FLAGGED, SEEN
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.folders import find, flat, folders, reachable, special, visible
from hopthu.web.security import csrf_ok
from hopthu.web.templating import expired_form, page

router = APIRouter()
PAGE_SIZE = 50
KEEPALIVE_SECONDS = 25.0
_FLAG_ACTIONS = {"read": ("+", SEEN), "unread": ("-", SEEN), "flag": ("+", FLAGGED), "unflag": ("-", FLAGGED)}


@router.get("/thu", include_in_schema=False)
async def inbox(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> RedirectResponse:
    views = await folders(request.app.state.services.store.mail, who.account.id)
    return RedirectResponse(f"/thu/{special(views, None).id}", status_code=303)


@router.get("/thu/{mailbox_id}", response_class=HTMLResponse)
async def folder(
    request: Request, mailbox_id: int, who: Annotated[SignedIn, Depends(signed_in)], truoc: int | None = None
) -> HTMLResponse:
    """One page of a folder; `truoc` ("before") is the UID the previous page ended at."""
    services = request.app.state.services
    groups = await visible(services, who.account.id)
    views = flat(groups)
    current = find(views, mailbox_id)
    messages = await services.store.mail.messages(mailbox_id, limit=PAGE_SIZE + 1, before_uid=truoc)
    older = messages[PAGE_SIZE - 1].uid if len(messages) > PAGE_SIZE else None
    return page(
        request,
        "mail_list.html",
        who=who,
        groups=groups,
        folders=[view for view in views if view.account_id == current.account_id],
        current=current,
        messages=messages[:PAGE_SIZE],
        older=older,
        first_page=truoc is None,
    )


@router.post("/thu/{mailbox_id}/thao-tac")
async def act(
    request: Request,
    mailbox_id: int,
    who: Annotated[SignedIn, Depends(signed_in)],
    action: Annotated[str, Form()],
    uid: Annotated[list[int] | None, Form()] = None,
    target: Annotated[int | None, Form()] = None,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """Apply one action to the messages ticked in the list (R11.3: delete, archive)."""
    back = RedirectResponse(f"/thu/{mailbox_id}", status_code=303)
    if not csrf_ok(request, csrf):
        return expired_form(request, who)
    services = request.app.state.services
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
async def events(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> StreamingResponse:
    """Server-sent events: `change` with the mailbox id, whenever something in the account changed."""
    bus = request.app.state.services.store.events
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
