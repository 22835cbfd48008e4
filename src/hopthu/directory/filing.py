"""Filing requests (R7, R10.3) the same way from the portal and the REST API: what a request may say,
checked against the filer's powers (an agency manager files only for their agencies) and against the
regulation (the reasons of R6 and the document some of them need), before it reaches the queue."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any

from hopthu.directory.accounts import Account, local_part
from hopthu.directory.actlist import ActRow
from hopthu.directory.agencies import Agency
from hopthu.directory.people import PersonRow, RowResult
from hopthu.directory.requests import Request
from hopthu.directory.roles import Powers
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError, NotFound
from hopthu.policy import lifecycle, naming
from hopthu.policy.delegation import check_delegation
from hopthu.policy.mailbox import MailboxKind

ACT_KINDS = ("change", "delete", "lock", "restore", "reset_password")
# Requests about the agency itself: a new sub-unit and its mailbox (R6.1, R4.2), a delegation of the
# agency mailbox (R8.2), the appointment of its mailbox-list manager (R10.4).
STRUCTURE_KINDS = ("subunit", "delegation", "appoint")
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
    family: str = "",
    middle: str = "",
    given: str = "",
    note: str = "",
) -> tuple[str, dict[str, Any]]:
    """The agency code and payload of a request about an existing mailbox, once it is known to be
    allowed and complete."""
    if kind not in ACT_KINDS:
        raise HopThuError("Hãy chọn loại yêu cầu", "Choose the kind of request")
    found = await directory.accounts.get(address)
    target = await directory.agencies.get(agency.strip().lower()) if agency.strip() else None
    act = ActRow(0, address, reason, ref, agency, family, middle, given, note)
    return check_act(powers, kind, found, act, target)


def check_act(
    powers: Powers, kind: str, found: Account, act: ActRow, target: Agency | None
) -> tuple[str, dict[str, Any]]:
    """What a request about the mailbox `found` files, or why it is refused: the one check a single
    request and every row of a list pass (scope, the state the account is in, the regulation's reason
    and document, what a change needs). `target` is the new agency of a change, when it names one."""
    if not powers.covers(found.agency_id):
        raise OutsideScope()
    status = lifecycle.Status(found.status)
    if kind in ACT_ACTIONS:
        lifecycle.check_allowed(status, ACT_ACTIONS[kind])
        lifecycle.check_reason(ACT_ACTIONS[kind], act.reason, act.ref)
    else:
        lifecycle.check_password_reset(status)
    payload: dict[str, Any] = {
        "address": found.local,
        "reason": act.reason or None,
        "ref": act.ref.strip() or None,
        "note": act.note.strip(),
    }
    if kind == "change":
        payload.update(_change(powers, found, act, target))
    return found.agency_code, payload


def _change(powers: Powers, found: Account, act: ActRow, target: Agency | None) -> dict[str, Any]:
    """A change names a new agency (one of the filer's), a new name (family and given, the middle
    name empty when there is none), or both; for a personal mailbox only."""
    if found.kind != "personal":
        raise HopThuError(
            "Chỉ thay đổi được thông tin của hộp thư cá nhân", "Only a personal mailbox's details can change"
        )
    renames = any(part.strip() for part in (act.family, act.middle, act.given))
    if target is None and not renames:
        raise HopThuError(
            "Yêu cầu thay đổi cần mã cơ quan mới hoặc họ tên mới",
            "A change needs a new agency code or a new name",
        )
    changed: dict[str, Any] = {}
    if target is not None:
        if not powers.covers(target.id):
            raise OutsideScope()
        changed["agency"] = target.code
    if renames:
        if not (act.family.strip() and act.given.strip()):
            raise HopThuError(
                "Họ tên mới cần đủ họ và tên (tên đệm có thể trống)",
                "A new name needs the family and the given name (the middle name may be empty)",
            )
        naming.person_base(act.family, act.middle, act.given)  # refuses what R4.3a cannot read
        changed.update(family=act.family.strip(), middle=act.middle.strip(), given=act.given.strip())
    return changed


@dataclass(slots=True)
class ActResult:
    """One row of a list as it would be filed: its request, or the problem that keeps it back."""

    row: ActRow
    agency: str | None = None
    payload: dict[str, Any] | None = None
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "line": self.row.line,
            "address": self.row.address,
            "agency": self.agency,
            "error": self.error,
        }


async def plan_acts(directory: Directory, powers: Powers, kind: str, rows: list[ActRow]) -> list[ActResult]:
    """Every row of a list of `kind` requests, checked as `act_request` checks one (`check_act`),
    with the mailboxes and agencies looked up for the whole list at once; a row naming a mailbox an
    earlier row named is a duplicate."""
    if kind not in ACT_KINDS:
        raise HopThuError("Hãy chọn loại yêu cầu", "Choose the kind of request")
    domain = directory.ctx.settings.server.domain
    wanted: dict[int, str] = {}
    results = [ActResult(row) for row in rows]
    for index, result in enumerate(results):
        try:
            wanted[index] = local_part(result.row.address, domain)
        except HopThuError as error:
            result.error = _on_line(result.row, error)
    accounts = await directory.accounts.find_many(wanted.values())
    agencies = {a.code: a for a in await directory.agencies.list()}
    first_line: dict[str, int] = {}
    for index, local in wanted.items():
        result = results[index]
        try:
            if result.row.example:
                raise HopThuError(
                    "dòng ví dụ của tệp mẫu, không gửi", "the template's example row is not filed"
                )
            found = accounts.get(local)
            if found is None:
                raise NotFound(f"không có hộp thư '{local}'", f"no mailbox '{local}'")
            if found.local in first_line:
                line = first_line[found.local]
                raise HopThuError(f"trùng với dòng {line}", f"duplicate of row {line}")
            first_line[found.local] = result.row.line
            target = None
            if result.row.agency:
                target = agencies.get(result.row.agency)
                if target is None:
                    raise NotFound(
                        f"không có cơ quan, đơn vị mã '{result.row.agency}'",
                        f"no agency with code '{result.row.agency}'",
                    )
            result.agency, result.payload = check_act(powers, kind, found, result.row, target)
        except HopThuError as error:
            result.error = _on_line(result.row, error)
    return results


async def file_acts(
    directory: Directory, kind: str, results: list[ActResult], *, channel: str, filed_by: str
) -> tuple[str, int]:
    """The good rows of a checked list filed as one batch (its id, how many); nothing when none is."""
    batch = secrets.token_hex(6)
    items = [(kind, r.agency, r.payload) for r in results if r.error is None and r.payload is not None]
    if not items:
        raise HopThuError("Không có dòng nào gửi được", "No row can be filed")
    return batch, await directory.requests.file_batch(items, channel=channel, filed_by=filed_by, batch=batch)


def _on_line(row: ActRow, error: HopThuError) -> str:
    return f"Dòng {row.line}: {error.vi} / {error.en}"


async def subunit_request(
    directory: Directory, powers: Powers, *, parent: str, name: str, code: str = "", note: str = ""
) -> tuple[str, dict[str, Any]]:
    """A new sub-unit of one of the filer's agencies, with the addresses it could have (R4.2): the
    part the agency proposes first when it is free; the operator confirms one on approval."""
    where = await directory.agencies.get(parent.strip().lower())
    if not powers.covers(where.id):
        raise OutsideScope()
    if where.status != "active":
        raise HopThuError(
            f"Cơ quan '{where.code}' không còn hoạt động", f"Agency '{where.code}' is not active"
        )
    name = " ".join(name.split())
    if not name:
        raise HopThuError("Tên đơn vị không được để trống", "The sub-unit's name must not be empty")
    requested = code.strip().lower().removesuffix(f".{where.code}") or None
    proposals = await directory.agencies.subunit_proposals(name, where.code, requested=requested)
    payload = {
        "name": name,
        "parent": where.code,
        "code": requested,
        "proposed": proposals[0],
        "proposals": proposals,
        "note": note.strip(),
    }
    return where.code, payload


async def delegation_request(
    directory: Directory, powers: Powers, *, mailbox: str, person: str, can_send: bool, note: str = ""
) -> tuple[str, dict[str, Any]]:
    """The use of one of the filer's agency mailboxes by a person (R8.2), read always, send-as when
    asked; what may be delegated to whom is `policy.delegation`'s."""
    box = await directory.accounts.get(mailbox)
    if not powers.covers(box.agency_id):
        raise OutsideScope()
    who = await directory.accounts.get(person)
    check_delegation(MailboxKind(box.kind), MailboxKind(who.kind))
    payload = {"address": box.local, "person": who.local, "can_send": bool(can_send), "note": note.strip()}
    return box.agency_code, payload


async def appoint_request(
    directory: Directory, powers: Powers, *, agency: str, person: str, note: str = ""
) -> tuple[str, dict[str, Any]]:
    """One of the agency's own staff (its sub-units' included) appointed its mailbox-list manager
    (R10.4)."""
    where = await directory.agencies.get(agency.strip().lower())
    if not powers.covers(where.id):
        raise OutsideScope()
    who = await directory.accounts.get(person)
    if who.kind != "personal" or who.agency_id not in await directory.agencies.subtree(where.id):
        raise HopThuError(
            f"'{who.local}' không phải cán bộ của {where.name}",
            f"'{who.local}' is not a member of staff of {where.name}",
        )
    if where.id in (await directory.roles.powers(who.id)).agencies:
        raise HopThuError(
            f"'{who.local}' đã quản lý danh sách hộp thư của {where.name}",
            f"'{who.local}' already manages the mailbox list of {where.name}",
            code="conflict",
        )
    return where.code, {"address": who.local, "agency": where.code, "note": note.strip()}


async def visible_request(directory: Directory, powers: Powers, request_id: int) -> Request:
    """A filed request its reader may see: `NotFound` when there is none, `OutsideScope` for one of
    another agency (or of none, which only the operator's staff see)."""
    found = await directory.requests.get(request_id)
    allowed = powers.covers(found.agency_id) if found.agency_id is not None else powers.sees_everything
    if not allowed:
        raise OutsideScope()
    return found
