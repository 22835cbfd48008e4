"""Filing requests (R7, R10.3) the same way from the portal and the REST API: what a request may say,
checked against the filer's powers (an agency manager files only for their agencies) and against the
regulation (the reasons of R6 and the document some of them need), before it reaches the queue."""

from __future__ import annotations

import dataclasses
from typing import Any

from hopthu.directory.people import PersonRow, RowResult
from hopthu.directory.requests import Request
from hopthu.directory.roles import Powers
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.policy import lifecycle

ACT_KINDS = ("change", "delete", "lock", "restore", "reset_password")
ACT_ACTIONS = {
    "change": lifecycle.Action.CHANGE,
    "delete": lifecycle.Action.DELETE,
    "lock": lifecycle.Action.LOCK,
    "restore": lifecycle.Action.RESTORE,
}


class OutsideScope(HopThuError):
    def __init__(self) -> None:
        super().__init__(
            "Hộp thư hoặc cơ quan này không thuộc phạm vi của bạn",
            "This mailbox or agency is outside your agencies",
            code="forbidden",
        )


async def plan_people(directory: Directory, powers: Powers, rows: list[PersonRow]) -> list[RowResult]:
    """`people.plan`, with rows outside the filer's agencies refused and no address chosen by the
    list itself (choosing is the operator's, R4.3b)."""
    agencies = {a.code: a.id for a in await directory.agencies.list()}
    rows = [dataclasses.replace(row, address=None) for row in rows]
    results = await directory.people.plan(rows)
    for result in results:
        agency_id = agencies.get(result.row.agency)
        if result.error is None and agency_id is not None and not powers.covers(agency_id):
            result.error = (
                f"Dòng {result.row.line}: cơ quan '{result.row.agency}' không thuộc phạm vi của bạn"
                f" / agency '{result.row.agency}' is outside your agencies"
            )
            result.address, result.proposals = None, []
    return results


async def plan_person(directory: Directory, powers: Powers, row: PersonRow) -> RowResult:
    """One person to register, filed alone (the API, the portal's one-person form): an agency outside
    the filer's is `OutsideScope`, the same refusal as any other, not a line of a list's report."""
    agency_id = {a.code: a.id for a in await directory.agencies.list()}.get(row.agency)
    if agency_id is not None and not powers.covers(agency_id):
        raise OutsideScope()
    (result,) = await plan_people(directory, powers, [row])
    return result


async def act_request(
    directory: Directory,
    powers: Powers,
    kind: str,
    *,
    address: str,
    reason: str = "",
    ref: str = "",
    agency: str = "",
    note: str = "",
) -> tuple[str, dict[str, Any]]:
    """The agency code and payload of a request about an existing mailbox, once it is known to be
    allowed and complete."""
    if kind not in ACT_KINDS:
        raise HopThuError("Hãy chọn loại yêu cầu", "Choose the kind of request")
    found = await directory.accounts.get(address)
    if not powers.covers(found.agency_id):
        raise OutsideScope()
    if kind in ACT_ACTIONS:
        lifecycle.check_reason(ACT_ACTIONS[kind], reason, ref)
    payload: dict[str, Any] = {
        "address": found.local,
        "reason": reason or None,
        "ref": ref.strip() or None,
        "note": note.strip(),
    }
    if kind == "change":
        target = await directory.agencies.get(agency.strip().lower())
        if not powers.covers(target.id):
            raise OutsideScope()
        payload["agency"] = target.code
    return found.agency_code, payload


async def visible_request(directory: Directory, powers: Powers, request_id: int) -> Request:
    """A filed request its reader may see: `NotFound` when there is none, `OutsideScope` for one of
    another agency (or of none, which only the operator's staff see)."""
    found = await directory.requests.get(request_id)
    allowed = powers.covers(found.agency_id) if found.agency_id is not None else powers.sees_everything
    if not allowed:
        raise OutsideScope()
    return found
