"""Held mail in the portal (R3.1, the operator's): "Thư bị giữ lại", the outbound messages scored as
spam with their verdicts, each opened as its headers and a plain-text preview (the message's HTML is
never rendered: its words only, escaped), released or deleted with a reason (audited). And the city's
block and allow lists of senders ("Chặn và cho phép người gửi"), changed by operators (audited).
"""

from __future__ import annotations

import email.parser
import email.policy
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.errors import HopThuError, NotFound
from hopthu.mail import parse
from hopthu.mail.headers import clean_text, decode_words
from hopthu.mail.searchtext import part_text, text_parts
from hopthu.protection.quarantine import Quarantine
from hopthu.services import Services
from hopthu.web.admin.access import PORTAL, Admin, OperatorForm, admin_page, operating
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import WebServices, services_of
from hopthu.web.params import RowId

router = APIRouter()
HELD_PAGE = f"{PORTAL}/thu-giu-lai"
RULES_PAGE = f"{PORTAL}/nguoi-gui"
PREVIEW_LIMIT = 20_000
HEADERS_SHOWN = 60
HEADER_VALUE_LIMIT = 1000


@router.get(HELD_PAGE, response_class=HTMLResponse)
async def held_list(request: Request, admin: Annotated[Admin, Depends(operating)]) -> HTMLResponse:
    return await _list(request, admin)


async def _list(request: Request, admin: Admin, *, error: HopThuError | None = None) -> HTMLResponse:
    quarantine = _quarantine(services_of(request))
    status = request.query_params.get("trang-thai", "held")
    shown = None if status == "all" else status if status in ("held", "released", "deleted") else "held"
    return admin_page(
        request,
        admin,
        "admin/quarantine.html",
        status_code=400 if error else 200,
        section=HELD_PAGE,
        held=await quarantine.store.listing(status=shown),
        status=shown or "all",
        error=error,
    )


def _headers(raw: bytes) -> list[tuple[str, str]]:
    """A header block as (name, decoded value) pairs, bounded, for reading (never for HTML)."""
    message = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    shown = []
    for name, value in list(message.items())[:HEADERS_SHOWN]:
        text = value if isinstance(value, str) else str(value)
        decoded = clean_text(decode_words(text.encode("utf-8", "surrogateescape")))
        shown.append((name[:100], decoded[:HEADER_VALUE_LIMIT]))
    return shown


def _preview(data: bytes) -> tuple[list[tuple[str, str]], str, list[tuple[str, int]]]:
    parsed = parse(data)
    parts = text_parts(parsed.structure)
    plain = [node for node in parts if node.get("subtype", "plain").lower() == "plain"] or parts
    text = part_text(data, plain[0], PREVIEW_LIMIT) if plain else ""
    files = [(a.filename or "(không tên)", a.decoded_size) for a in parsed.attachments]
    return _headers(data[: parsed.header_end]), text.strip()[:PREVIEW_LIMIT], files


@router.get(HELD_PAGE + "/{held_id}", response_class=HTMLResponse)
async def held_detail(
    request: Request, held_id: RowId, admin: Annotated[Admin, Depends(operating)]
) -> HTMLResponse:
    return await _detail(request, admin, held_id)


async def _detail(
    request: Request, admin: Admin, held_id: int, *, error: HopThuError | None = None
) -> HTMLResponse:
    quarantine = _quarantine(services_of(request))
    held = await quarantine.store.get(held_id)
    if held is None:
        raise HTTPException(404)
    context: dict[str, Any] = {"ours": _headers(held.prefix), "headers": [], "text": "", "files": []}
    if held.status in ("held", "releasing"):
        headers, text, files = _preview(await quarantine.store.body(held))
        context.update(headers=headers, text=text, files=files)
    return admin_page(
        request,
        admin,
        "admin/quarantine_item.html",
        status_code=400 if error else 200,
        section=HELD_PAGE,
        item=held,
        error=error,
        **context,
    )


@router.post(HELD_PAGE + "/{held_id}/{act}", response_class=HTMLResponse)
async def decide(
    request: Request,
    services: WebServices,
    held_id: RowId,
    act: str,
    admin: OperatorForm,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Release (deliver once) or delete a held message, with the operator's reason."""
    if act not in ("giai-phong", "xoa"):
        raise HTTPException(404)
    quarantine = _quarantine(services)
    try:
        if act == "giai-phong":
            released = await quarantine.release(held_id, actor=admin.actor, reason=reason)
            done = (
                f"Đã chuyển thư số {held_id} đến {released.delivered} người nhận.",
                f"Message {held_id} was delivered to {released.delivered} recipients.",
            )
        else:
            await quarantine.delete(held_id, actor=admin.actor, reason=reason)
            done = (f"Đã xóa thư số {held_id}.", f"Message {held_id} was deleted.")
    except NotFound:
        raise HTTPException(404) from None
    except HopThuError as error:
        return await _detail(request, admin, held_id, error=error)
    return redirect_after(request, admin.who, HELD_PAGE, done)


# --- the city's lists -----------------------------------------------------------------------------


@router.get(RULES_PAGE, response_class=HTMLResponse)
async def city_rules(request: Request, admin: Annotated[Admin, Depends(operating)]) -> HTMLResponse:
    return await _rules(request, admin)


async def _rules(
    request: Request,
    admin: Admin,
    *,
    error: HopThuError | None = None,
    typed: str = "",
) -> HTMLResponse:
    rules = await services_of(request).directory.sender_rules.listing(None)
    return admin_page(
        request,
        admin,
        "admin/sender_rules.html",
        status_code=400 if error else 200,
        section=RULES_PAGE,
        rules=rules,
        error=error,
        typed=typed,
    )


@router.post(RULES_PAGE, response_class=HTMLResponse)
async def add_city_rule(
    request: Request,
    services: WebServices,
    admin: OperatorForm,
    kind: Annotated[str, Form()] = "block",
    pattern: Annotated[str, Form()] = "",
) -> Response:
    rules = services.directory.sender_rules
    try:
        added = await rules.add(None, kind, pattern[:1000], actor=admin.actor)
    except HopThuError as error:
        return await _rules(request, admin, error=error, typed=pattern[:300])
    vi, en = ("chặn", "block") if added.kind == "block" else ("cho phép", "allow")
    done = (f"Đã thêm {added.pattern} vào danh sách {vi}.", f"{added.pattern} is on the {en} list.")
    return redirect_after(request, admin.who, RULES_PAGE, done)


@router.post(RULES_PAGE + "/{rule_id}/xoa", response_class=HTMLResponse)
async def remove_city_rule(
    request: Request,
    services: WebServices,
    rule_id: RowId,
    admin: OperatorForm,
) -> Response:
    rules = services.directory.sender_rules
    removed = await rules.remove(None, rule_id, actor=admin.actor)  # NotFound: the app's 404
    done = (f"Đã bỏ {removed.pattern} khỏi danh sách.", f"{removed.pattern} was removed.")
    return redirect_after(request, admin.who, RULES_PAGE, done)


def _quarantine(services: Services) -> Quarantine:
    """The holding room; a process built without one (a tool, a test) has no such page."""
    if services.quarantine is None:
        raise HTTPException(404)
    return services.quarantine
