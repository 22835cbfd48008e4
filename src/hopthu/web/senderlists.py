"""A person's own block and allow lists in the webmail settings ("Chặn và cho phép người gửi"): mail
from a blocked sender goes to their Thư rác, mail from an allowed one that only scored as spam stays
in their inbox (`directory.senderrules`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hopthu.errors import HopThuError, NotFound
from hopthu.web.deps import WebServices
from hopthu.web.forms import CheckedForm
from hopthu.web.params import RowId
from hopthu.web.signin import ACCOUNT_PAGE, account_view

router = APIRouter()
LISTS = f"{ACCOUNT_PAGE}/nguoi-gui"


@router.post(LISTS)
async def add_rule(
    request: Request,
    services: WebServices,
    who: CheckedForm,
    kind: Annotated[str, Form()] = "block",
    pattern: Annotated[str, Form()] = "",
) -> Response:
    rules = services.directory.sender_rules
    try:
        await rules.add(who.account.id, kind, pattern[:1000], actor=who.account.local)
    except HopThuError as error:
        return await account_view(request, who, rules_error=error, typed=pattern[:300])
    return RedirectResponse(f"{ACCOUNT_PAGE}?da-luu-danh-sach=1#senders", status_code=303)


@router.post(LISTS + "/{rule_id}/xoa")
async def remove_rule(
    request: Request,
    services: WebServices,
    rule_id: RowId,
    who: CheckedForm,
) -> Response:
    rules = services.directory.sender_rules
    try:
        await rules.remove(who.account.id, rule_id, actor=who.account.local)
    except NotFound as error:
        return await account_view(request, who, rules_error=error)
    return RedirectResponse(f"{ACCOUNT_PAGE}?da-luu-danh-sach=1#senders", status_code=303)
