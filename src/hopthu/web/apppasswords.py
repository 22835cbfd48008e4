"""App passwords in the webmail's settings ("Mật khẩu ứng dụng"): a person names one per mail program
or device, is shown its letters once, sees when and from where each was last used, and revokes any
(`directory.apppasswords`; the rules in `policy.apppasswords`).

The letters are shown in the answer to the form that made them, never behind a redirect or in an
address, and the page is not cached (`web.templating`): reloading it asks to send the form again
rather than showing them twice.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from hopthu.errors import HopThuError
from hopthu.web.deps import WebServices
from hopthu.web.forms import CheckedForm
from hopthu.web.params import RowId
from hopthu.web.signin import ACCOUNT_PAGE, account_view

router = APIRouter()
APP_PASSWORDS = f"{ACCOUNT_PAGE}/mat-khau-ung-dung"
TYPED_MAX = 1000  # a name typed longer is refused by its length; no more of it is kept to show again


@router.post(APP_PASSWORDS)
async def create(
    request: Request, services: WebServices, who: CheckedForm, name: Annotated[str, Form()] = ""
) -> Response:
    try:
        made, letters = await services.directory.app_passwords.create(
            who.account.id, name[:TYPED_MAX], actor=who.account.local
        )
    except HopThuError as error:
        return await account_view(request, who, app_error=error, app_typed=name[:TYPED_MAX])
    return await account_view(request, who, made=(made.name, letters))


@router.post(APP_PASSWORDS + "/{app_password_id}/thu-hoi")
async def revoke(
    request: Request, services: WebServices, app_password_id: RowId, who: CheckedForm
) -> Response:
    try:
        await services.directory.app_passwords.revoke(
            who.account.id, app_password_id, actor=who.account.local
        )
    except HopThuError as error:
        return await account_view(request, who, app_error=error)
    return RedirectResponse(f"{ACCOUNT_PAGE}?da-thu-hoi=1#app-passwords", status_code=303)
