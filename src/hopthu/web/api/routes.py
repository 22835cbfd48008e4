"""The REST API's operations (R9, R7): agencies, accounts and requests, each answering exactly what
the token's role may see, so the city's HR system can file requests as an agency would; and the
administrative roles, the operator's alone (R10.4, R13.4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi import Path as PathParam

from hopthu.directory.accounts import Account
from hopthu.directory.agencies import Agency
from hopthu.directory.filing import (
    ActResult,
    act_request,
    appoint_request,
    delegation_request,
    file_acts,
    plan_acts,
    plan_person,
    subunit_request,
    visible_request,
)
from hopthu.directory.former import FormerAddress
from hopthu.directory.fulfilment import Fulfilment, person_payload
from hopthu.directory.people import PersonRow
from hopthu.directory.requests import Request as Filed
from hopthu.directory.roles import Powers, RoleGrant
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.web.admin.accesslog import audited, filters_of, query_of
from hopthu.web.api.access import Caller, Forbidden, calling
from hopthu.web.api.models import (
    AccessEventOut,
    AccountOut,
    AccountPatch,
    AgencyOut,
    BatchOut,
    DecisionIn,
    FormerAddressIn,
    FormerAddressOut,
    ListOut,
    ListRowOut,
    PasswordResetIn,
    PasswordResetOut,
    Problem,
    RequestIn,
    RequestOut,
    RoleIn,
    RoleOut,
)
from hopthu.web.deps import WebServices, services_of
from hopthu.web.lists import template_response, uploaded_acts
from hopthu.web.params import RowId

router = APIRouter()
REFUSALS = {
    401: {"model": Problem},
    403: {"model": Problem},
    404: {"model": Problem},
    422: {"model": Problem},
}


def _agency(found: Agency, domain: str) -> AgencyOut:
    return AgencyOut(**found.as_json(), address=f"{found.code}@{domain}")


def _account(found: Account, domain: str) -> AccountOut:
    return AccountOut(
        address=found.address(domain),
        kind=found.kind,
        display_name=found.display_name,
        agency=found.agency_code,
        rank=found.rank,
        job_title=found.job_title,
        status=found.status,
        quota_bytes=found.quota_bytes,
        usage_bytes=found.usage_bytes,
        messages=found.message_count,
        must_change_password=found.must_change_password,
        password_changed_at=found.password_changed_at,
        last_access_at=found.last_access_at,
        created_at=found.created_at,
    )


def _request(filed: Filed, domain: str) -> RequestOut:
    payload = filed.payload
    local = payload.get("address")
    shown = {k: v for k, v in payload.items() if k not in ("sealed_password", "address", "proposals")}
    return RequestOut(
        id=filed.id,
        kind=filed.kind,
        agency=filed.agency_code,
        status=filed.status,
        batch=filed.batch,
        filed_by=filed.filed_by,
        decided_by=filed.decided_by,
        decision_reason=filed.decision_reason,
        created_at=filed.created_at,
        decided_at=filed.decided_at,
        address=f"{local}@{domain}" if local else None,
        proposals=list(payload.get("proposals") or []) if filed.status == "pending" else [],
        details=shown,
    )


def _within(powers: Powers) -> frozenset[int] | None:
    return None if powers.sees_everything else powers.agencies


@router.get("/agencies", response_model=list[AgencyOut], responses=REFUSALS, tags=["agencies"])
async def list_agencies(
    services: WebServices, caller: Annotated[Caller, Depends(calling)]
) -> list[AgencyOut]:
    """Agencies and sub-units the token may see."""
    domain = services.settings.server.domain
    return [
        _agency(a, domain) for a in await services.directory.agencies.list() if caller.powers.covers(a.id)
    ]


@router.get("/agencies/{code}", response_model=AgencyOut, responses=REFUSALS, tags=["agencies"])
async def get_agency(
    services: WebServices,
    code: Annotated[str, PathParam(max_length=64)],
    caller: Annotated[Caller, Depends(calling)],
) -> AgencyOut:
    found = await services.directory.agencies.get(code)
    caller.check(found.id)
    return _agency(found, services.settings.server.domain)


@router.get("/accounts", response_model=list[AccountOut], responses=REFUSALS, tags=["accounts"])
async def list_accounts(
    services: WebServices,
    caller: Annotated[Caller, Depends(calling)],
    agency: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(active|locked|revoked|deleted)$")] = None,
    q: Annotated[str, Query(max_length=100, description="Name (without diacritics) or address")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[AccountOut]:
    if agency:  # asking for another agency's list is refused like its accounts, not answered empty
        caller.check((await services.directory.agencies.get(agency)).id)
    found = await services.directory.accounts.list(
        agency_code=agency, status=status, within=_within(caller.powers), query=q, limit=limit, offset=offset
    )
    return [_account(a, services.settings.server.domain) for a in found]


@router.get("/accounts/{address}", response_model=AccountOut, responses=REFUSALS, tags=["accounts"])
async def get_account(
    services: WebServices, address: str, caller: Annotated[Caller, Depends(calling)]
) -> AccountOut:
    found = await services.directory.accounts.get(address)
    caller.check(found.agency_id)
    return _account(found, services.settings.server.domain)


@router.patch("/accounts/{address}", response_model=AccountOut, responses=REFUSALS, tags=["accounts"])
async def update_account(
    services: WebServices, address: str, body: AccountPatch, caller: Annotated[Caller, Depends(calling)]
) -> AccountOut:
    """Change what an operator may change directly (operator tokens only): the job title the address
    book shows. Audited like every change to an account."""
    caller.operator()
    accounts = services.directory.accounts
    found = await accounts.get(address)
    caller.check(found.agency_id)
    if "job_title" in body.model_fields_set:
        found = await accounts.set_job_title(
            found.local, body.job_title, actor=caller.actor, reason=body.reason.strip() or None
        )
    return _account(found, services.settings.server.domain)


@router.post(
    "/accounts/{address}/password-reset",
    response_model=PasswordResetOut,
    responses=REFUSALS,
    tags=["accounts"],
)
async def reset_password(
    services: WebServices,
    address: str,
    body: PasswordResetIn,
    caller: Annotated[Caller, Depends(calling)],
) -> PasswordResetOut:
    """A temporary password for a forgotten one (operator and helpdesk tokens; the helpdesk's for
    ordinary mailboxes only, never an administrator's: `policy.authority`). The person's web sessions end."""
    accounts = services.directory.accounts
    found = await accounts.get(address)
    caller.check(found.agency_id)
    password = await accounts.reset_password(
        found.local, actor=caller.actor, reason=body.reason.strip(), roles=caller.powers.roles
    )
    await services.web_sessions.end_all(found.id)
    domain = services.settings.server.domain
    return PasswordResetOut(address=found.address(domain), temporary_password=password)


@router.get("/requests", response_model=list[RequestOut], responses=REFUSALS, tags=["requests"])
async def list_requests(
    services: WebServices,
    caller: Annotated[Caller, Depends(calling)],
    status: Annotated[str | None, Query(pattern="^(pending|approving|approved|rejected)$")] = None,
    batch: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[RequestOut]:
    found = await services.directory.requests.list(
        status=status, batch=batch, within=_within(caller.powers), limit=limit, offset=offset
    )
    return [_request(r, services.settings.server.domain) for r in found]


async def _filed(request: Request, caller: Caller, request_id: int) -> Filed:
    return await visible_request(services_of(request).directory, caller.powers, request_id)


@router.get("/requests/{request_id}", response_model=RequestOut, responses=REFUSALS, tags=["requests"])
async def get_request(
    request: Request, services: WebServices, request_id: RowId, caller: Annotated[Caller, Depends(calling)]
) -> RequestOut:
    return _request(await _filed(request, caller, request_id), services.settings.server.domain)


@router.post(
    "/requests",
    response_model=RequestOut,
    status_code=201,
    responses={**REFUSALS, 409: {"model": Problem}},
    tags=["requests"],
)
async def file_request(
    request: Request,
    services: WebServices,
    body: RequestIn,
    caller: Annotated[Caller, Depends(calling)],
    response: Response,
) -> RequestOut:
    """File a request for the operator, as the token's agency would on the portal (R7)."""
    directory = services.directory
    if body.kind == "create":
        if body.person is None:
            raise HopThuError(
                "Yêu cầu cấp mới cần thông tin người (person)", "A create request needs `person`"
            )
        person = body.person
        row = PersonRow(
            person.family,
            person.middle,
            person.given,
            person.agency.lower(),
            person.rank,
            person.date,
            job_title=person.job_title,
            line=1,
        )
        result = await plan_person(directory, caller.powers, row)
        if result.error:
            raise HopThuError(result.error, result.error, code="invalid")
        filed = await directory.requests.file(
            "create",
            person_payload(row, proposed=result.address, proposals=result.proposals),
            agency_code=row.agency,
            channel="api",
            filed_by=caller.actor,
        )
    else:
        agency_code, payload = await _checked(directory, caller, body)
        filed = await directory.requests.file(
            body.kind, payload, agency_code=agency_code, channel="api", filed_by=caller.actor
        )
    response.headers["Location"] = f"{request.scope.get('root_path', '')}/requests/{filed.id}"
    return _request(filed, services.settings.server.domain)


async def _checked(directory: Directory, caller: Caller, body: RequestIn) -> tuple[str, dict[str, Any]]:
    """The agency and payload of a request other than `create`, checked as the portal checks it."""
    if body.kind == "subunit":
        return await subunit_request(
            directory, caller.powers, parent=body.agency, name=body.name, code=body.code, note=body.note
        )
    if body.kind == "delegation":
        return await delegation_request(
            directory,
            caller.powers,
            mailbox=body.address or "",
            person=body.delegate,
            can_send=body.can_send,
            note=body.note,
        )
    if body.kind == "appoint":
        return await appoint_request(
            directory, caller.powers, agency=body.agency, person=body.address or "", note=body.note
        )
    return await act_request(
        directory,
        caller.powers,
        body.kind,
        address=body.address or "",
        reason=body.reason,
        ref=body.ref,
        agency=body.agency,
        family=body.family,
        middle=body.middle,
        given=body.given,
        note=body.note,
    )


ListKind = Annotated[str, PathParam(pattern="^(change|delete|lock|restore|reset_password)$")]


@router.get("/lists/{kind}/template.{fmt}", responses=REFUSALS, tags=["lists"])
async def list_template(
    kind: ListKind,
    fmt: Annotated[str, PathParam(pattern="^(xlsx|csv)$")],
    caller: Annotated[Caller, Depends(calling)],
) -> Response:
    """The file to fill in for a list of `kind` requests: the headers and one example row (R10.3)."""
    return template_response(kind, fmt)


async def _planned(services: Any, caller: Caller, kind: str, file: UploadFile) -> list[ActResult]:
    return await plan_acts(services.directory, caller.powers, kind, await uploaded_acts(kind, file))


def _list_out(kind: str, results: list[ActResult], batch: str | None = None) -> ListOut:
    return ListOut(
        kind=kind,
        rows=len(results),
        ready=sum(1 for r in results if r.error is None),
        problems=[
            ListRowOut(line=r.row.line, address=r.row.address, error=r.error) for r in results if r.error
        ],
        batch=batch,
    )


@router.post("/lists/{kind}/preview", response_model=ListOut, responses=REFUSALS, tags=["lists"])
async def preview_list(
    services: WebServices,
    kind: ListKind,
    file: Annotated[UploadFile, File(description=".xlsx or .csv")],
    caller: Annotated[Caller, Depends(calling)],
) -> ListOut:
    """Every row of a list checked as a single request is, nothing filed: the rows' problems."""
    return _list_out(kind, await _planned(services, caller, kind, file))


@router.post("/lists/{kind}", response_model=ListOut, status_code=201, responses=REFUSALS, tags=["lists"])
async def file_list(
    services: WebServices,
    kind: ListKind,
    file: Annotated[UploadFile, File(description=".xlsx or .csv")],
    caller: Annotated[Caller, Depends(calling)],
) -> ListOut:
    """The good rows of a list filed as one batch; the others named with their problem."""
    results = await _planned(services, caller, kind, file)
    batch, _ = await file_acts(services.directory, kind, results, channel="api", filed_by=caller.actor)
    return _list_out(kind, results, batch)


@router.post("/batches/{batch}/approve", response_model=BatchOut, responses=REFUSALS, tags=["requests"])
async def approve_batch(
    services: WebServices,
    batch: Annotated[str, PathParam(max_length=64)],
    caller: Annotated[Caller, Depends(calling)],
) -> BatchOut:
    """Approve every pending request of a batch in one act (operator tokens only)."""
    caller.operator()
    outcome = await Fulfilment(services.directory).approve_batch(batch, actor=caller.actor, within=None)
    return BatchOut(
        batch=batch,
        approved=outcome.approved,
        refused=[{"id": i, "reason": why} for i, why in outcome.refused],
    )


@router.post(
    "/requests/{request_id}/approve",
    response_model=RequestOut,
    responses={**REFUSALS, 409: {"model": Problem}},
    tags=["requests"],
)
async def approve_request(
    request: Request,
    services: WebServices,
    request_id: RowId,
    body: DecisionIn,
    caller: Annotated[Caller, Depends(calling)],
) -> RequestOut:
    """Carry the request out (operator tokens only)."""
    caller.operator()
    await _filed(request, caller, request_id)
    directory = services.directory
    done = await Fulfilment(directory).approve(request_id, actor=caller.actor, address=body.address or None)
    return _request(done, services.settings.server.domain)


@router.post(
    "/requests/{request_id}/reject",
    response_model=RequestOut,
    responses={**REFUSALS, 409: {"model": Problem}},
    tags=["requests"],
)
async def reject_request(
    request: Request,
    services: WebServices,
    request_id: RowId,
    body: DecisionIn,
    caller: Annotated[Caller, Depends(calling)],
) -> RequestOut:
    """Refuse the request with a reason (operator tokens only)."""
    caller.operator()
    await _filed(request, caller, request_id)
    decided = await services.directory.requests.decide(
        request_id, "rejected", reason=body.reason, actor=caller.actor
    )
    return _request(decided, services.settings.server.domain)


@router.get("/access-log", response_model=list[AccessEventOut], responses=REFUSALS, tags=["access log"])
async def search_access_log(
    request: Request,
    caller: Annotated[Caller, Depends(calling)],
    address: Annotated[str, Query(max_length=320, description="A mailbox, or a login naming none")] = "",
    source: Annotated[str, Query(max_length=64)] = "",
    protocol: Annotated[str, Query(pattern="^(|imap|pop3|submission|web|api)$")] = "",
    result: Annotated[str, Query(max_length=24)] = "",
    since: Annotated[str, Query(max_length=10, description="First day (YYYY-MM-DD, Vietnam time)")] = "",
    until: Annotated[str, Query(max_length=10, description="Last day (YYYY-MM-DD, Vietnam time)")] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62, description="Only events older than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AccessEventOut]:
    """Who accessed which mailbox, when, from where (R13.4, R13.6), newest first: operator and
    auditor tokens only; every search is in the audit log."""
    if not caller.powers.reads_records:
        raise Forbidden()
    filters = filters_of(
        {
            "hop_thu": address,
            "nguon": source,
            "giao_thuc": protocol,
            "ket_qua": result,
            "tu": since,
            "den": until,
        }
    )
    services = services_of(request)
    found = await services.directory.ctx.access_log.search(
        await query_of(request, filters), before_id=before, limit=limit
    )
    details = {"filters": {k: v for k, v in filters.items() if v}}
    await audited(request, caller.actor, "accesslog.searched", details)
    domain = services.settings.server.domain
    return [
        AccessEventOut(
            id=e.id,
            at=e.at,
            address=f"{e.address}@{domain}" if e.address else None,
            login=e.login,
            protocol=e.protocol,
            source=e.source,
            client=e.client,
            result=e.result,
            agency_mailbox=f"{e.mailbox}@{domain}" if e.mailbox else None,
        )
        for e in found
    ]


def _role(found: RoleGrant, domain: str) -> RoleOut:
    return RoleOut(address=found.address(domain), name=found.name, role=found.role, agency=found.agency_code)


@router.get("/roles", response_model=list[RoleOut], responses=REFUSALS, tags=["roles"])
async def list_roles(services: WebServices, caller: Annotated[Caller, Depends(calling)]) -> list[RoleOut]:
    """Who holds which administrative role (operator tokens only)."""
    caller.operator()
    domain = services.settings.server.domain
    return [_role(g, domain) for g in await services.directory.roles.grants()]


@router.post(
    "/roles",
    response_model=RoleOut,
    status_code=201,
    responses={**REFUSALS, 409: {"model": Problem}},
    tags=["roles"],
)
async def grant_role(
    services: WebServices, body: RoleIn, caller: Annotated[Caller, Depends(calling)]
) -> RoleOut:
    """Give a role to a mailbox, an agency manager's with `agency` (operator tokens only; 409 when
    it is held already)."""
    caller.operator()
    made = await services.directory.roles.grant(
        body.address, body.role, agency_code=body.agency, actor=caller.actor
    )
    return _role(made, services.settings.server.domain)


@router.delete(
    "/roles/{address}/{role}",
    status_code=204,
    responses={**REFUSALS, 409: {"model": Problem}},
    tags=["roles"],
)
async def revoke_role(
    services: WebServices,
    address: Annotated[str, PathParam(max_length=320)],
    role: Annotated[str, PathParam(pattern="^(operator|helpdesk|agency_manager|auditor)$")],
    caller: Annotated[Caller, Depends(calling)],
    agency: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Withdraw a role (operator tokens only; 409 for the last operator's)."""
    caller.operator()
    await services.directory.roles.revoke(address, role, agency_code=agency, actor=caller.actor)
    return Response(status_code=204)


def _former(found: FormerAddress, domain: str) -> FormerAddressOut:
    return FormerAddressOut(**found.as_json(domain) | {"created_at": found.created_at})


@router.get(
    "/former-addresses", response_model=list[FormerAddressOut], responses=REFUSALS, tags=["former addresses"]
)
async def list_former_addresses(
    services: WebServices,
    caller: Annotated[Caller, Depends(calling)],
    agency: Annotated[str | None, Query(max_length=64)] = None,
    search: Annotated[str, Query(max_length=320)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[FormerAddressOut]:
    """The former provinces' addresses and the mailboxes they reach (R13.7; operator tokens only)."""
    caller.operator()
    found = await services.directory.former.list(
        agency_code=agency, search=search, limit=limit, offset=offset
    )
    return [_former(f, services.settings.server.domain) for f in found]


@router.post(
    "/former-addresses",
    response_model=FormerAddressOut,
    status_code=201,
    responses={**REFUSALS, 409: {"model": Problem}},
    tags=["former addresses"],
)
async def add_former_address(
    services: WebServices, body: FormerAddressIn, caller: Annotated[Caller, Depends(calling)]
) -> FormerAddressOut:
    """Let mail to an old address reach a mailbox (R13.7; operator tokens only; 409 when the old
    address is recorded already)."""
    caller.operator()
    made = await services.directory.former.add(
        body.former_address, body.address, actor=caller.actor, reason=body.reason
    )
    return _former(made, services.settings.server.domain)
