"""The agency tree in the portal (R1.1, R10.4): each agency and sub-unit with its declared staff
count against its active personal mailboxes, a mismatch flagged for the agency's manager to explain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hopthu.directory.agencies import Agency
from hopthu.web.admin.access import PORTAL, Admin, administering
from hopthu.web.templating import page

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
    directory = request.app.state.services.directory
    visible = [a for a in await directory.agencies.list() if admin.powers.covers(a.id)]
    rows = tree_order(visible, await directory.agencies.active_mailboxes())
    return page(request, "admin/agencies.html", who=admin.who, section=AGENCIES, rows=rows)
