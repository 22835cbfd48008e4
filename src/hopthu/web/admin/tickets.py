"""Helpdesk tickets in the portal (R7.2, R11.2): the messages of a ticket that arrived at hotro@ (the
text, the attachments' names, the original as .eml), and the answer, sent as hotro@ to the person
and kept in the ticket, which it closes. A reply from the person opens it again (`smtp.helpdesk`).
The operator's administrators and the helpdesk answer; an agency's managers read their agency's.
"""

from __future__ import annotations

import email.policy
import email.utils
from email.message import EmailMessage
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.directory.requests import Request as Filed
from hopthu.errors import HopThuError
from hopthu.mail import parse
from hopthu.mail.headers import clean_text
from hopthu.mail.searchtext import part_text, text_parts
from hopthu.smtp.helpdesk import answer_id
from hopthu.smtp.notices import HELPDESK, SIGNATURE
from hopthu.smtp.pipeline import Incoming
from hopthu.web.admin.access import PORTAL, Admin, AdminForm, admin_page, administering
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.admin.requests import KIND_NAMES, STATUS_NAMES, filed_request
from hopthu.web.deps import WebServices, services_of
from hopthu.web.params import RowId

router = APIRouter()
TICKET = f"{PORTAL}/yeu-cau/{{request_id}}"
ANSWER_LIMIT = 20_000


async def _messages(request: Request, found: Filed) -> list[dict[str, Any]]:
    """Each message of the ticket as the page shows it (a message deleted from hotro@ says so)."""
    mail = services_of(request).store.mail
    shown = []
    for number, item in enumerate(found.payload.get("messages", [])):
        data = await mail.message_bytes(int(item["mailbox_id"]), int(item["uid"]))
        entry = {
            "number": number,
            "from": item.get("from"),
            "subject": item.get("subject"),
            "at": item.get("at"),
        }
        if data is None:
            shown.append({**entry, "gone": True})
            continue
        parsed = parse(data)
        parts = text_parts(parsed.structure)
        plain = [node for node in parts if node.get("subtype", "plain").lower() == "plain"] or parts
        text = part_text(data, plain[0]) if plain else ""
        files = [(a.filename or "(không tên)", a.decoded_size) for a in parsed.attachments]
        shown.append({**entry, "gone": False, "text": text.strip(), "files": files})
    return shown


@router.get(TICKET, response_class=HTMLResponse)
async def ticket(
    request: Request, request_id: RowId, admin: Annotated[Admin, Depends(administering)]
) -> HTMLResponse:
    return await _page(request, admin, await filed_request(request, admin, request_id))


async def _page(
    request: Request,
    admin: Admin,
    found: Filed,
    *,
    error: HopThuError | None = None,
) -> HTMLResponse:
    return admin_page(
        request,
        admin,
        "admin/request.html",
        status_code=400 if error else 200,
        section=f"{PORTAL}/yeu-cau",
        filed=found,
        kinds=KIND_NAMES,
        statuses=STATUS_NAMES,
        messages=await _messages(request, found) if found.kind == "feedback" else [],
        may_answer=found.kind == "feedback" and admin.powers.sees_everything,
        error=error,
    )


@router.get(TICKET + "/thu/{number}")
async def original(
    request: Request,
    services: WebServices,
    request_id: RowId,
    number: int,
    admin: Annotated[Admin, Depends(administering)],
) -> Response:
    """One message of the ticket as it arrived (.eml), for the helpdesk to open in full."""
    found = await filed_request(request, admin, request_id)
    messages = found.payload.get("messages", [])
    if not 0 <= number < len(messages):
        raise HTTPException(404)
    item = messages[number]
    data = await services.store.mail.message_bytes(int(item["mailbox_id"]), int(item["uid"]))
    if data is None:
        raise HTTPException(404)
    return Response(
        data,
        media_type="message/rfc822",
        headers={"Content-Disposition": f'attachment; filename="phieu-{found.id}-thu-{number + 1}.eml"'},
    )


@router.post(TICKET + "/tra-loi", response_class=HTMLResponse)
async def answer(
    request: Request,
    services: WebServices,
    request_id: RowId,
    admin: AdminForm,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Send the answer as hotro@ and close the ticket with it."""
    found = await filed_request(request, admin, request_id)
    if found.kind != "feedback" or not admin.powers.sees_everything:
        raise HTTPException(403)
    text = text.strip()
    if not text or len(text) > ANSWER_LIMIT:
        return await _page(
            request, admin, found, error=HopThuError("Hãy viết câu trả lời", "Write the answer")
        )
    requests = services.directory.requests
    domain = services.settings.server.domain
    helpdesk = f"{HELPDESK}@{domain}"
    payload = dict(found.payload)
    reply = EmailMessage()
    reply["From"] = email.utils.formataddr((SIGNATURE, helpdesk))
    reply["To"] = payload["from"]
    subject = clean_text(payload.get("subject") or "")  # tickets filed before decoding cleaned it
    reply["Subject"] = subject if subject.lower().startswith(("re:", "tl:")) else f"Re: {subject}"
    reply["Date"] = email.utils.format_datetime(services.store.mail.clock())
    message_id = answer_id(found.id, domain)
    reply["Message-ID"] = message_id
    thread = [m for m in payload.get("thread", []) if m]
    if thread:
        reply["In-Reply-To"] = thread[-1]
        reply["References"] = " ".join(thread[-10:])
    reply.set_content(f"{text}\n\n-- \n{SIGNATURE}\n{helpdesk} · phiếu hỗ trợ số {found.id}\n")
    outcome = await services.pipeline.accept(
        Incoming(reply.as_bytes(policy=email.policy.SMTP), helpdesk, [payload["from"]], channel="system")
    )
    if not outcome.accepted:
        return await _page(
            request,
            admin,
            found,
            error=HopThuError("Chưa gửi được câu trả lời; hãy thử lại", "The answer was not sent; try again"),
        )
    await requests.claim(found.id)
    payload["thread"] = [*thread, message_id]
    payload["answers"] = [
        *payload.get("answers", []),
        # Whom it went to: their replies join this ticket (smtp/helpdesk.py `correspondents`).
        {
            "by": admin.actor,
            "at": services.store.mail.clock().isoformat(),
            "text": text,
            "to": [payload["from"]],
        },
    ]
    await requests.finish(found.id, payload, actor=admin.actor)
    return redirect_after(
        request,
        admin.who,
        f"{PORTAL}/yeu-cau/{found.id}",
        ("Đã gửi câu trả lời và đóng phiếu.", "The answer was sent; the ticket is closed."),
    )
