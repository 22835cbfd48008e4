"""Agencies in the portal (R1.1, R4.4, R6.2, R6.3, R10.4): the tree, each agency and sub-unit with its
declared staff count against its active personal mailboxes (a mismatch flagged for the agency's
manager to explain); adding one; and on its page, renaming, merging into another and dissolving
(`directory.reorganisation`), each citing its document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from hopthu.directory.agencies import Agency
from hopthu.errors import HopThuError
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

router = APIRouter()
AGENCIES = f"{PORTAL}/co-quan"


@dataclass(frozen=True, slots=True)
class AgencyRow:
    agency: Agency
    depth: int
    mailboxes: int

    @property
    def mismatch(self) -> bool:
        staff = self.agency.staff_count
        return staff is not None and staff != self.mailboxes


def tree_order(agencies: list[Agency], mailboxes: dict[int, int]) -> list[AgencyRow]:
    """Parents before their children, children by name, each with its depth in the tree."""
    by_parent: dict[str | None, list[Agency]] = {}
    codes = {a.code for a in agencies}
    for found in agencies:
        parent = found.parent_code if found.parent_code in codes else None
        by_parent.setdefault(parent, []).append(found)
    rows: list[AgencyRow] = []

    def visit(parent: str | None, depth: int) -> None:
        for child in sorted(by_parent.get(parent, []), key=lambda a: a.name):
            rows.append(AgencyRow(child, depth, mailboxes.get(child.id, 0)))
            visit(child.code, depth + 1)

    visit(None, 0)
    return rows


@router.get(AGENCIES, response_class=HTMLResponse)
async def agencies(request: Request, admin: Annotated[Admin, Depends(administering)]) -> HTMLResponse:
    return await _agencies(request, admin)


async def _agencies(request: Request, admin: Admin, *, error: HopThuError | None = None) -> HTMLResponse:
    directory = services_of(request).directory
    visible = [a for a in await directory.agencies.list() if admin.powers.covers(a.id)]
    working = [a for a in visible if a.status == "active"]
    rows = tree_order(working, await directory.agencies.active_mailboxes())
    return admin_page(
        request,
        admin,
        "admin/agencies.html",
        status_code=400 if error else 200,
        section=AGENCIES,
        rows=rows,
        former=[a for a in visible if a.status != "active"],
        operator=admin.powers.operator,
        error=error,
    )


@router.get(AGENCIES + "/{code}", response_class=HTMLResponse)
async def agency_page(
    request: Request, code: str, admin: Annotated[Admin, Depends(administering)]
) -> HTMLResponse:
    return await _agency_page(request, admin, await _agency(request, admin, code))


async def _agency(request: Request, admin: Admin, code: str) -> Agency:
    found = await services_of(request).directory.agencies.get(code)  # NotFound: the app's 404
    check_covers(admin, found.id)
    return found


async def _agency_page(
    request: Request,
    admin: Admin,
    found: Agency,
    *,
    error: HopThuError | None = None,
) -> HTMLResponse:
    directory = services_of(request).directory
    everyone = await directory.agencies.list()
    return admin_page(
        request,
        admin,
        "admin/agency.html",
        status_code=400 if error else 200,
        section=AGENCIES,
        agency=found,
        mailboxes=(await directory.agencies.active_mailboxes()).get(found.id, 0),
        others=[a for a in everyone if a.status == "active" and a.id != found.id],
        sub_units=[a for a in everyone if a.parent_code == found.code],
        operator=admin.powers.operator,
        history=await directory.agencies.history(found.code),
        error=error,
    )


@router.post(AGENCIES + "/{code}/{act}", response_class=HTMLResponse)
async def agency_act(
    request: Request,
    services: WebServices,
    code: str,
    act: str,
    admin: AdminForm,
    name: Annotated[str, Form()] = "",
    into: Annotated[str, Form()] = "",
    staff: Annotated[str, Form()] = "",
    ref: Annotated[str, Form()] = "",
) -> Response:
    """Rename, merge, dissolve (the operator's), or declare the staff count (also the manager's)."""
    found = await _agency(request, admin, code)
    changes = services.directory.reorganisation
    try:
        if act == "bien-che":
            count = int(staff) if staff.strip() else None
            found = await changes.declare_staff(found.code, count, actor=admin.actor)
            done = ("Đã ghi số biên chế.", "The staff count was recorded.")
        elif not admin.powers.operator:
            raise HTTPException(403)
        elif act == "doi-ten":
            found = await changes.rename(found.code, name, ref=ref, actor=admin.actor)
            done = ("Đã đổi tên; tên hiển thị các hộp thư đã cập nhật.", "Renamed; display names follow.")
        elif act == "sap-nhap":
            target = await changes.merge(found.code, into, ref=ref, actor=admin.actor)
            done = (
                f"Đã sáp nhập {found.name} vào {target.name}.",
                f"{found.name} was merged into {target.name}.",
            )
            found = target
        elif act == "giai-the":
            count = await changes.dissolve(found.code, ref=ref, actor=admin.actor)
            found = await services.directory.agencies.get(found.code)
            done = (
                f"Đã giải thể; {count} hộp thư chuyển sang hủy bỏ.",
                f"Dissolved; {count} mailboxes deleted.",
            )
        else:
            raise HTTPException(404)
    except ValueError:
        return await _agency_page(
            request, admin, found, error=HopThuError("Số biên chế phải là số", "Not a number")
        )
    except HopThuError as error:
        return await _agency_page(request, admin, found, error=error)
    return redirect_after(request, admin.who, f"{AGENCIES}/{found.code}", done)


@router.post(AGENCIES, response_class=HTMLResponse)
async def add_agency(
    request: Request,
    services: WebServices,
    admin: OperatorForm,
    name: Annotated[str, Form()] = "",
    parent: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    staff: Annotated[str, Form()] = "",
) -> Response:
    """A new agency or sub-unit, with its agency mailbox at the address R4.1/R4.2 give: the one typed
    (a sub-unit's joined to its agency's), or the one the system proposes; a taken one is refused
    with the proposals."""
    directory = services.directory
    try:
        count = int(staff) if staff.strip() else None
        added = await directory.agencies.add(
            name, code=code.strip() or None, parent=parent or None, staff_count=count, actor=admin.actor
        )
    except ValueError:
        return await _agencies(request, admin, error=HopThuError("Số biên chế phải là số", "Not a number"))
    except HopThuError as error:
        return await _agencies(request, admin, error=error)
    return redirect_after(
        request, admin.who, f"{AGENCIES}/{added.code}", (f"Đã thêm {added.name}.", f"{added.name} was added.")
    )
