"""Accounts in the portal: the list with its filters and search without diacritics, one account's
page with its history, and the operator's acts on it (R6: lock, restore, revoke, delete; R5.2: a
temporary password shown once; R5.1: quota). Every act asks why, cites the document where the
regulation wants one (`policy.lifecycle`), and lands in the audit log through the directory.

Helpdesk staff see every account and reset the passwords of ordinary mailboxes (an administrator's
is an operator's act, `policy.authority`: refused with 403 and the reason); agency managers see
their agencies' accounts only (anything else is 403) and change nothing here: their acts are
requests to the operator (R7).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from hopthu.directory import audit
from hopthu.directory.accounts import Account
from hopthu.errors import HopThuError, NotFound
from hopthu.policy import lifecycle
from hopthu.web.admin.access import (
    PORTAL,
    Admin,
    AdminForm,
    OperatorForm,
    admin_page,
    administering,
    check_covers,
)
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import WebServices, services_of
from hopthu.web.folders import folders
from hopthu.web.manage import zip_of

router = APIRouter()
ACCOUNTS = f"{PORTAL}/hop-thu"
PAGE_SIZE = 50
# The lifecycle acts as they appear in addresses.
ACTS = {
    "khoa": lifecycle.Action.LOCK,
    "khoi-phuc": lifecycle.Action.RESTORE,
    "thu-hoi": lifecycle.Action.REVOKE,
    "huy": lifecycle.Action.DELETE,
}
STATUSES = [(s.value, s.vi) for s in lifecycle.Status]
IDLE_DAYS = (30, 90, 150, 180)
PASSWORD_DAYS = (60, 80, 90)
USAGE_PERCENTS = (80, 90, 95, 100)


@router.get(ACCOUNTS, response_class=HTMLResponse)
async def listing(
    request: Request,
    services: WebServices,
    admin: Annotated[Admin, Depends(administering)],
    q: str = "",
    co_quan: str = "",
    trang_thai: str = "",
    loai: str = "",
    khong_dung: str = "",
    mat_khau: str = "",
    dung_luong: str = "",
    trang: int = 1,
) -> HTMLResponse:
    """`khong_dung`: unused for that many days; `mat_khau`: password older than that many days;
    `dung_luong`: using that percentage of the quota or more."""
    idle, old, used = (
        _number(khong_dung, IDLE_DAYS),
        _number(mat_khau, PASSWORD_DAYS),
        _number(dung_luong, USAGE_PERCENTS),
    )
    filters = {
        "q": q,
        "co_quan": co_quan,
        "trang_thai": trang_thai,
        "loai": loai,
        "khong_dung": str(idle or ""),
        "mat_khau": str(old or ""),
        "dung_luong": str(used or ""),
    }
    now = services.directory.ctx.now()
    directory = services.directory
    agencies = [a for a in await directory.agencies.list() if admin.powers.covers(a.id)]
    if co_quan:  # another agency's list is refused like its accounts, not shown empty
        check_covers(admin, (await directory.agencies.get(co_quan)).id)
    page_number = max(1, trang)
    found = await directory.accounts.list(
        agency_code=co_quan or None,
        status=trang_thai if trang_thai in dict(STATUSES) else None,
        kind=loai if loai in ("personal", "agency") else None,
        within=None if admin.powers.sees_everything else admin.powers.agencies,
        query=q[:100],
        unused_since=now - dt.timedelta(days=idle) if idle else None,
        password_before=now - dt.timedelta(days=old) if old else None,
        usage_at_least=used / 100 if used else None,
        limit=PAGE_SIZE + 1,
        offset=(page_number - 1) * PAGE_SIZE,
    )
    return admin_page(
        request,
        admin,
        "admin/accounts.html",
        section=ACCOUNTS,
        accounts=found[:PAGE_SIZE],
        more=len(found) > PAGE_SIZE,
        page_number=page_number,
        agencies=agencies,
        statuses=STATUSES,
        idle_days=IDLE_DAYS,
        password_days=PASSWORD_DAYS,
        usage_percents=USAGE_PERCENTS,
        filters=filters,
        query=urlencode({name: value for name, value in filters.items() if value}),
    )


def _number(text: str, allowed: tuple[int, ...]) -> int:
    """A filter's number as the form sent it ("" when none is chosen); 0 unless it is one offered."""
    return int(text) if text.isdigit() and int(text) in allowed else 0


async def _account(request: Request, admin: Admin, local: str) -> Account:
    try:
        found = await services_of(request).directory.accounts.get(local)
    except (NotFound, HopThuError):
        raise HTTPException(404) from None
    check_covers(admin, found.agency_id)
    return found


@router.get(ACCOUNTS + "/{local}", response_class=HTMLResponse)
async def detail(
    request: Request, local: str, admin: Annotated[Admin, Depends(administering)]
) -> HTMLResponse:
    return await _detail(request, admin, await _account(request, admin, local))


async def _detail(
    request: Request,
    admin: Admin,
    found: Account,
    *,
    error: HopThuError | None = None,
) -> HTMLResponse:
    directory = services_of(request).directory
    may_reset = (
        admin.powers.sees_everything
        and found.can_sign_in
        and await directory.roles.may_reset_password(admin.powers, found.id)
    )
    status = lifecycle.Status(found.status)
    acts = [
        (slug, action, sorted(lifecycle.REASONS[action]))
        for slug, action in ACTS.items()
        if (status, action) in lifecycle.TRANSITIONS
    ]
    return admin_page(
        request,
        admin,
        "admin/account.html",
        status_code=(403 if error.code == "forbidden" else 400) if error else 200,
        section=ACCOUNTS,
        account=found,
        status=status,
        aliases=await directory.accounts.aliases(found.local),
        history=await directory.accounts.history(found.local, limit=50),
        acts=acts if admin.powers.operator else [],
        may_reset=may_reset,
        may_set_quota=admin.powers.operator,
        may_set_title=admin.powers.operator and found.kind == "personal",
        operator=admin.powers.operator,
        delegates=await directory.delegations.delegates(found.local) if found.kind == "agency" else [],
        change_reasons=sorted(lifecycle.REASONS[lifecycle.Action.CHANGE]),
        error=error,
    )


@router.post(ACCOUNTS + "/{local}/xuat.zip")
async def export(
    request: Request,
    services: WebServices,
    local: str,
    admin: OperatorForm,
) -> Response:
    """Every folder of the mailbox as .eml files in a zip (before a deletion, for an inspection);
    the administrator's access to the mailbox is recorded (R13.4). A POST with the session's CSRF
    token: it writes the audit log, so no link or image may set it off."""
    found = await _account(request, admin, local)
    views = await folders(services.store.mail, found.id)
    async with services.store.db.write() as conn:
        await audit.record(
            conn,
            at=services.directory.ctx.now(),
            actor=admin.actor,
            action="account.exported",
            target=found.local,
        )
    names = [(view.label("vi"), view.id) for view in views]
    return StreamingResponse(
        zip_of(request, names),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{found.local}.zip"',
            "Cache-Control": "no-store",
        },
    )


@router.post(ACCOUNTS + "/{local}/{act}", response_class=HTMLResponse)
async def act(
    request: Request,
    services: WebServices,
    local: str,
    act: str,
    admin: AdminForm,
    reason: Annotated[str, Form()] = "",
    ref: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    quota: Annotated[str, Form()] = "",
    person: Annotated[str, Form()] = "",
    can_send: Annotated[str | None, Form()] = None,
    new_local: Annotated[str, Form()] = "",
    job_title: Annotated[str, Form()] = "",
) -> Response:
    """One act on one account; the account's page comes back (a 303, so a reload does not act again)
    saying what was done, or, re-drawn here, why it was not."""
    found = await _account(request, admin, local)
    directory = services.directory
    accounts = directory.accounts
    password = None
    try:
        if act in ACTS and admin.powers.operator:
            action = ACTS[act]
            found = await accounts.change_status(
                found.local, action, reason=reason, ref=ref, actor=admin.actor, note=note.strip() or None
            )
            done = (f"Đã {action.vi} hộp thư.", f"Done: {action.value}.")
        elif act == "mat-khau" and admin.powers.sees_everything:
            password = await accounts.reset_password(
                found.local, actor=admin.actor, reason=note.strip() or None, roles=admin.powers.roles
            )
            await services.web_sessions.end_all(found.id)
            done = ("Đã cấp mật khẩu tạm.", "A temporary password was issued.")
        elif act == "dung-luong" and admin.powers.operator:
            found = await accounts.set_quota(
                found.local, quota, actor=admin.actor, reason=note.strip() or None
            )
            done = ("Đã đặt dung lượng.", "The quota was set.")
        elif act == "chuc-vu" and admin.powers.operator:
            found = await accounts.set_job_title(
                found.local, job_title, actor=admin.actor, reason=note.strip() or None
            )
            done = ("Đã lưu chức vụ.", "The job title was saved.")
        elif act == "uy-quyen" and admin.powers.operator:
            await directory.delegations.grant(
                found.local, person, can_send=can_send is not None, actor=admin.actor, ref=ref.strip() or None
            )
            done = ("Đã ủy quyền.", "The delegation was granted.")
        elif act == "bo-uy-quyen" and admin.powers.operator:
            await directory.delegations.revoke(
                found.local, person, actor=admin.actor, ref=ref.strip() or None
            )
            done = ("Đã bỏ ủy quyền.", "The delegation was withdrawn.")
        elif act == "doi-dia-chi" and admin.powers.operator:
            changed = await directory.aliases.change_address(
                found.local, new_local, reason=reason, ref=ref, actor=admin.actor
            )
            found = await accounts.get(changed)
            done = (
                f"Địa chỉ mới: {changed}; địa chỉ cũ được giữ làm bí danh.",
                f"New address: {changed}; the old one is kept as an alias.",
            )
        else:
            raise HTTPException(403)
    except HopThuError as error:
        return await _detail(request, admin, found, error=error)
    return redirect_after(request, admin.who, f"{ACCOUNTS}/{found.local}", done, password=password)
