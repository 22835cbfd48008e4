"""Requests in the portal (R7, R10.3, R12): agency managers file them, one act at a time or a list of
people from a spreadsheet (previewed first, with the address each row would get); the operator's
queue approves (the act is carried out by `directory.fulfilment`) or rejects with a reason. The
naming queue of R4.3b is the same queue: a row waiting for a choice shows its proposals, one click
takes one, and approving a whole batch takes the first proposal of every such row.

Each step is told by mail to the manager who filed; temporary passwords are downloaded by that
manager from the portal, once, never mailed.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from hopthu.directory import actlist
from hopthu.directory.filing import (
    ACT_ACTIONS,
    ACT_KINDS,
    OutsideScope,
    act_request,
    appoint_request,
    delegation_request,
    file_acts,
    plan_acts,
    plan_people,
    plan_person,
    subunit_request,
    visible_request,
)
from hopthu.directory.fulfilment import Fulfilment, person_payload, person_row
from hopthu.directory.listfile import people_from_csv, people_from_xlsx, template_xlsx
from hopthu.directory.people import PersonRow
from hopthu.directory.requests import Request as Filed
from hopthu.errors import HopThuError
from hopthu.policy import lifecycle
from hopthu.sheets import text_only
from hopthu.web.admin.access import (
    PORTAL,
    Admin,
    AdminForm,
    OperatorForm,
    admin_page,
    administering,
)
from hopthu.web.admin.outcome import redirect_after
from hopthu.web.deps import WebServices, services_of
from hopthu.web.lists import pack, template_response, unpack, uploaded_acts
from hopthu.web.params import RowId

router = APIRouter()
log = logging.getLogger("hopthu.web.admin")
REQUESTS = f"{PORTAL}/yeu-cau"
MAX_LIST_BYTES = 5 * 1024 * 1024
MAX_LIST_ROWS = 5000
KIND_NAMES = {
    "create": ("Cấp mới", "Create"),
    "change": ("Thay đổi (chuyển công tác, bổ nhiệm)", "Change (transfer, appointment)"),
    "delete": ("Hủy bỏ", "Delete"),
    "lock": ("Tạm khóa", "Lock"),
    "restore": ("Khôi phục", "Restore"),
    "reset_password": ("Cấp lại mật khẩu", "Reset password"),
    "subunit": ("Thành lập đơn vị trực thuộc", "New sub-unit"),
    "delegation": ("Ủy quyền hộp thư cơ quan", "Agency mailbox delegation"),
    "appoint": ("Cử người quản lý danh sách hộp thư", "Mailbox-list manager appointment"),
    "feedback": ("Góp ý, hỗ trợ", "Feedback, help"),
}
STATUS_NAMES = {
    "pending": ("Chờ duyệt", "Waiting"),
    "approving": ("Đang thực hiện", "Being carried out"),
    "approved": ("Đã duyệt", "Approved"),
    "rejected": ("Từ chối", "Rejected"),
}


def _within(admin: Admin) -> frozenset[int] | None:
    return None if admin.powers.sees_everything else admin.powers.agencies


@router.get(REQUESTS, response_class=HTMLResponse)
async def queue(
    request: Request,
    admin: Annotated[Admin, Depends(administering)],
    trang_thai: str = "",
    loai: str = "",
    lo: str = "",
) -> HTMLResponse:
    return await _queue(request, admin, {"trang_thai": trang_thai, "loai": loai, "lo": lo})


async def _queue(
    request: Request,
    admin: Admin,
    filters: dict[str, str],
    *,
    error: HopThuError | None = None,
) -> HTMLResponse:
    services = services_of(request)
    status = filters["trang_thai"] if filters["trang_thai"] in STATUS_NAMES else None
    if not filters["trang_thai"] and admin.powers.operator:
        status = "pending"  # the operator's queue opens on what waits for them
    found = await services.directory.requests.list(
        status=status,
        kind=filters["loai"] if filters["loai"] in KIND_NAMES else None,
        batch=filters["lo"] or None,
        within=_within(admin),
        limit=500,
    )
    waiting_passwords = [r for r in await _handed_over(services, admin) if r.payload.get("sealed_password")]
    return admin_page(
        request,
        admin,
        "admin/requests.html",
        status_code=400 if error else 200,
        section=REQUESTS,
        requests=found,
        filters={**filters, "trang_thai": status or ""},
        kinds=KIND_NAMES,
        statuses=STATUS_NAMES,
        operator=admin.powers.operator,
        waiting_passwords=len(waiting_passwords),
        choosing=sum(
            1
            for r in found
            if r.kind in ("create", "subunit") and r.status == "pending" and not r.payload.get("proposed")
        ),
        error=error,
    )


@router.get(REQUESTS + "/moi", response_class=HTMLResponse)
async def new(request: Request, admin: Annotated[Admin, Depends(administering)]) -> HTMLResponse:
    return await _new_page(request, admin)


async def _new_page(request: Request, admin: Admin, *, error: HopThuError | None = None) -> HTMLResponse:
    agencies = [a for a in await services_of(request).directory.agencies.list() if admin.powers.covers(a.id)]
    reasons = {kind: sorted(lifecycle.REASONS[action]) for kind, action in ACT_ACTIONS.items()}
    return admin_page(
        request,
        admin,
        "admin/request_new.html",
        status_code=400 if error else 200,
        section=REQUESTS,
        agencies=[a for a in agencies if a.status == "active"],
        act_kinds=[(k, KIND_NAMES[k]) for k in ACT_KINDS],
        list_kinds=[(k, KIND_NAMES[k]) for k in actlist.KINDS],
        max_rows=actlist.MAX_ROWS,
        max_megabytes=actlist.MAX_BYTES // (1024 * 1024),
        reasons=reasons,
        error=error,
    )


@router.get(REQUESTS + "/mau.xlsx")
async def template(services: WebServices, admin: Annotated[Admin, Depends(administering)]) -> Response:
    agencies = [a for a in await services.directory.agencies.list() if admin.powers.covers(a.id)]
    return Response(
        template_xlsx(agencies[0].code if agencies else "ma-co-quan"),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="mau-danh-sach-cap-hop-thu.xlsx"'},
    )


@router.post(REQUESTS + "/xem-truoc", response_class=HTMLResponse)
async def preview(
    request: Request,
    services: WebServices,
    admin: AdminForm,
    file: Annotated[UploadFile | None, File()] = None,
    family: Annotated[str, Form()] = "",
    middle: Annotated[str, Form()] = "",
    given: Annotated[str, Form()] = "",
    agency: Annotated[str, Form()] = "",
    rank: Annotated[int, Form()] = 0,
    job_title: Annotated[str, Form()] = "",
) -> Response:
    """The list (or the one person) as it would be registered now: an address, or the proposals an
    operator will choose from, or what is wrong, for every row. Nothing is filed yet."""
    from_list = file is not None and bool(file.filename)
    try:
        if file is not None and from_list:
            rows = await _read_list(file)
        else:
            rows = [
                PersonRow(
                    family.strip(),
                    middle.strip(),
                    given.strip(),
                    agency.strip().lower(),
                    rank,
                    job_title=job_title.strip() or None,
                    line=1,
                )
            ]
    except HopThuError as error:
        return await _new_page(request, admin, error=error)
    if from_list:
        results = await plan_people(services.directory, admin.powers, rows)
    else:  # one person: an agency not theirs is the refusal page, as anywhere else
        results = [await plan_person(services.directory, admin.powers, rows[0])]
    return admin_page(
        request,
        admin,
        "admin/request_preview.html",
        section=REQUESTS,
        results=results,
        one_person=not from_list,
        agency_names={a.code: a.name for a in await services.directory.agencies.list()},
        ready=sum(1 for r in results if r.error is None),
        choosing=sum(1 for r in results if r.needs_administrator),
        failing=sum(1 for r in results if r.error),
        rows_json=json.dumps([_row_json(r.row) for r in results], ensure_ascii=False),
    )


async def _read_list(file: UploadFile) -> list[PersonRow]:
    data = await file.read(MAX_LIST_BYTES + 1)
    if len(data) > MAX_LIST_BYTES:
        raise HopThuError("Tệp danh sách lớn hơn 5 MB", "The list file is larger than 5 MB")
    name = (file.filename or "").lower()
    if name.endswith(".csv"):
        rows = people_from_csv(data)
    elif name.endswith(".xlsx"):
        rows = people_from_xlsx(data)
    else:
        raise HopThuError("Chỉ nhận tệp .xlsx hoặc .csv", "Only .xlsx or .csv files are accepted")
    if not rows:
        raise HopThuError("Danh sách không có dòng nào", "The list has no rows")
    if len(rows) > MAX_LIST_ROWS:
        raise HopThuError(
            f"Danh sách có {len(rows)} dòng, tối đa {MAX_LIST_ROWS} dòng mỗi lần",
            f"The list has {len(rows)} rows; at most {MAX_LIST_ROWS} at a time",
        )
    return rows


def _row_json(row: PersonRow) -> dict[str, Any]:
    return person_payload(row, proposed=None, proposals=[])


@router.post(REQUESTS + "/gui", response_class=HTMLResponse)
async def submit(
    request: Request,
    services: WebServices,
    admin: AdminForm,
    rows: Annotated[str, Form()] = "[]",
) -> Response:
    """File the previewed list: one request per row that can be registered, as one batch. The rows
    are named again here, so what is filed is what is true now, whatever the form carried."""
    try:
        parsed = [person_row(item) for item in json.loads(rows)][:MAX_LIST_ROWS]
    except (ValueError, TypeError, AttributeError):
        raise HTTPException(422) from None
    results = [r for r in await plan_people(services.directory, admin.powers, parsed) if r.error is None]
    if not results:
        return await _new_page(
            request, admin, error=HopThuError("Không có dòng nào gửi được", "No row can be filed")
        )
    batch = secrets.token_hex(6)
    await services.directory.requests.file_batch(
        [
            ("create", r.row.agency, person_payload(r.row, proposed=r.address, proposals=r.proposals))
            for r in results
        ],
        channel="portal",
        filed_by=admin.actor,
        batch=batch,
    )
    await _tell(
        request,
        admin.actor,
        f"Đã nhận {len(results)} yêu cầu cấp hộp thư (lô {batch})",
        f"Sở Khoa học và Công nghệ đã nhận {len(results)} yêu cầu cấp hộp thư của bạn (lô {batch}).\n"
        "Bạn sẽ nhận thư báo khi yêu cầu được duyệt; mật khẩu tạm tải về tại trang Yêu cầu.",
        f"{len(results)} mailbox requests were received (batch {batch}). You will be told when they are"
        " decided; the temporary passwords are downloaded from the Requests page.",
    )
    filed = (
        ("Đã gửi yêu cầu (lô {batch}).", "The request was filed (batch {batch}).")
        if len(results) == 1
        else ("Đã gửi {n} yêu cầu (lô {batch}).", "{n} requests were filed (batch {batch}).")
    )
    done = (filed[0].format(n=len(results), batch=batch), filed[1].format(n=len(results), batch=batch))
    return redirect_after(request, admin.who, _queue_address({"lo": batch, "trang_thai": "pending"}), done)


@router.post(REQUESTS + "/thao-tac", response_class=HTMLResponse)
async def file_act(
    request: Request,
    services: WebServices,
    admin: AdminForm,
    kind: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    ref: Annotated[str, Form()] = "",
    agency: Annotated[str, Form()] = "",
    family: Annotated[str, Form()] = "",
    middle: Annotated[str, Form()] = "",
    given: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """One act on an existing mailbox of the manager's agencies, filed for the operator."""
    directory = services.directory
    try:
        agency_code, payload = await act_request(
            directory,
            admin.powers,
            kind,
            address=address,
            reason=reason,
            ref=ref,
            agency=agency,
            family=family,
            middle=middle,
            given=given,
            note=note,
        )
        filed = await directory.requests.file(
            kind, payload, agency_code=agency_code, channel="portal", filed_by=admin.actor
        )
    except OutsideScope:
        raise  # the app's refusal page, as for anything outside the administrator's agencies
    except HopThuError as error:
        return await _new_page(request, admin, error=error)
    await _tell(
        request,
        admin.actor,
        f"Đã nhận yêu cầu số {filed.id}",
        f"Đã nhận yêu cầu số {filed.id} ({KIND_NAMES[kind][0].lower()} hộp thư {payload['address']}).",
        f"Request {filed.id} was received ({KIND_NAMES[kind][1].lower()} for {payload['address']}).",
    )
    return redirect_after(
        request,
        admin.who,
        _queue_address({"trang_thai": "pending", "loai": "", "lo": ""}),
        (f"Đã gửi yêu cầu số {filed.id}.", f"Request {filed.id} was filed."),
    )


@router.get(REQUESTS + "/mau/{kind}.{fmt}")
async def act_template(kind: str, fmt: str, admin: Annotated[Admin, Depends(administering)]) -> Response:
    """The template of a list of requests of one kind (R10.3)."""
    if kind not in actlist.KINDS or fmt not in ("xlsx", "csv"):
        raise HTTPException(404)
    return template_response(kind, fmt)


SHOWN_READY = 100  # good rows a preview lists; every row with a problem is listed


@router.post(REQUESTS + "/danh-sach", response_class=HTMLResponse)
async def preview_acts(
    request: Request,
    services: WebServices,
    admin: AdminForm,
    kind: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A list of requests about existing mailboxes, every row checked as a single request is and its
    problem named; nothing is filed yet."""
    try:
        if kind not in actlist.KINDS:
            raise HopThuError("Hãy chọn loại yêu cầu", "Choose the kind of request")
        if file is None or not file.filename:
            raise HopThuError("Hãy chọn tệp danh sách", "Choose the list file")
        results = await plan_acts(services.directory, admin.powers, kind, await uploaded_acts(kind, file))
    except HopThuError as error:
        return await _new_page(request, admin, error=error)
    ready = [r for r in results if r.error is None]
    return admin_page(
        request,
        admin,
        "admin/request_list_preview.html",
        section=REQUESTS,
        kind=kind,
        kind_name=KIND_NAMES[kind],
        total=len(results),
        ready=len(ready),
        failing=[r for r in results if r.error],
        shown=ready[:SHOWN_READY],
        packed=pack([r.row for r in ready]),
    )


@router.post(REQUESTS + "/danh-sach/gui", response_class=HTMLResponse)
async def submit_acts(
    request: Request,
    services: WebServices,
    admin: AdminForm,
    kind: Annotated[str, Form()] = "",
    rows: Annotated[str, Form()] = "",
) -> Response:
    """File the previewed list as one batch; the rows are checked again, so what is filed is what is
    allowed now, whatever the form carried."""
    if kind not in actlist.KINDS:
        raise HTTPException(422)
    try:
        parsed = unpack(rows)
    except ValueError:
        raise HTTPException(422) from None
    results = await plan_acts(services.directory, admin.powers, kind, parsed)
    try:
        batch, count = await file_acts(
            services.directory, kind, results, channel="portal", filed_by=admin.actor
        )
    except HopThuError as error:
        return await _new_page(request, admin, error=error)
    names = KIND_NAMES[kind]
    await _tell(
        request,
        admin.actor,
        f"Đã nhận {count} yêu cầu (lô {batch})",
        f"Sở Khoa học và Công nghệ đã nhận {count} yêu cầu {names[0].lower()} của bạn (lô {batch}).",
        f"{count} requests ({names[1].lower()}) were received (batch {batch}).",
    )
    done = (f"Đã gửi {count} yêu cầu (lô {batch}).", f"{count} requests were filed (batch {batch}).")
    return redirect_after(request, admin.who, _queue_address({"lo": batch, "trang_thai": "pending"}), done)


@router.post(REQUESTS + "/to-chuc", response_class=HTMLResponse)
async def file_structure(
    request: Request,
    services: WebServices,
    admin: AdminForm,
    kind: Annotated[str, Form()] = "",
    agency: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    delegate: Annotated[str, Form()] = "",
    can_send: Annotated[bool, Form()] = False,
    note: Annotated[str, Form()] = "",
) -> Response:
    """A request about the agency itself: a new sub-unit, a delegation of its mailbox (R8.2), the
    appointment of its mailbox-list manager (R10.4)."""
    directory = services.directory
    try:
        if kind == "subunit":
            agency_code, payload = await subunit_request(
                directory, admin.powers, parent=agency, name=name, code=code, note=note
            )
        elif kind == "delegation":
            agency_code, payload = await delegation_request(
                directory, admin.powers, mailbox=address, person=delegate, can_send=can_send, note=note
            )
        elif kind == "appoint":
            agency_code, payload = await appoint_request(
                directory, admin.powers, agency=agency, person=address, note=note
            )
        else:
            raise HopThuError("Hãy chọn loại yêu cầu", "Choose the kind of request")
        filed = await directory.requests.file(
            kind, payload, agency_code=agency_code, channel="portal", filed_by=admin.actor
        )
    except OutsideScope:
        raise HTTPException(403) from None
    except HopThuError as error:
        return await _new_page(request, admin, error=error)
    await _tell(
        request,
        admin.actor,
        f"Đã nhận yêu cầu số {filed.id}",
        f"Đã nhận yêu cầu số {filed.id} ({KIND_NAMES[kind][0].lower()}).",
        f"Request {filed.id} was received ({KIND_NAMES[kind][1].lower()}).",
    )
    return redirect_after(
        request,
        admin.who,
        _queue_address({"trang_thai": "pending", "loai": "", "lo": ""}),
        (f"Đã gửi yêu cầu số {filed.id}.", f"Request {filed.id} was filed."),
    )


async def filed_request(request: Request, admin: Admin, request_id: int) -> Filed:
    """A request the administrator may see: 404 when there is none (`NotFound`), 403 outside their
    agencies (`OutsideScope`), both answered by the app."""
    return await visible_request(services_of(request).directory, admin.powers, request_id)


@router.post(REQUESTS + "/{request_id}/duyet", response_class=HTMLResponse)
async def approve(
    request: Request,
    services: WebServices,
    request_id: RowId,
    admin: OperatorForm,
    address: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    filed = await filed_request(request, admin, request_id)
    filters = _back_filters(back)
    try:
        done = await Fulfilment(services.directory).approve(
            request_id, actor=admin.actor, address=address or None
        )
    except HopThuError as error:
        return await _queue(request, admin, filters, error=error)
    what = done.payload.get("address") or filed.payload.get("address") or ""
    await _tell(
        request,
        filed.filed_by,
        f"Yêu cầu số {filed.id} đã được duyệt",
        f"Yêu cầu số {filed.id} ({KIND_NAMES[filed.kind][0].lower()} {what}) đã được duyệt và thực hiện."
        + (
            "\nMật khẩu tạm tải về tại trang Yêu cầu của cổng quản trị."
            if done.payload.get("sealed_password")
            else ""
        ),
        f"Request {filed.id} ({KIND_NAMES[filed.kind][1].lower()} {what}) was approved and carried out.",
    )
    done_text = (f"Đã duyệt yêu cầu số {filed.id}.", f"Request {filed.id} approved.")
    return redirect_after(request, admin.who, _queue_address(filters), done_text)


@router.post(REQUESTS + "/{request_id}/tu-choi", response_class=HTMLResponse)
async def reject(
    request: Request,
    services: WebServices,
    request_id: RowId,
    admin: OperatorForm,
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    filed = await filed_request(request, admin, request_id)
    filters = _back_filters(back)
    try:
        await services.directory.requests.decide(request_id, "rejected", reason=reason, actor=admin.actor)
    except HopThuError as error:
        return await _queue(request, admin, filters, error=error)
    await _tell(
        request,
        filed.filed_by,
        f"Yêu cầu số {filed.id} bị từ chối",
        f"Yêu cầu số {filed.id} ({KIND_NAMES[filed.kind][0].lower()}) bị từ chối. Lý do: {reason.strip()}",
        f"Request {filed.id} ({KIND_NAMES[filed.kind][1].lower()}) was rejected. Reason: {reason.strip()}",
    )
    done = (f"Đã từ chối yêu cầu số {filed.id}.", f"Request {filed.id} rejected.")
    return redirect_after(request, admin.who, _queue_address(filters), done)


@router.post(REQUESTS + "/lo/{batch}/duyet", response_class=HTMLResponse)
async def approve_batch(
    request: Request,
    services: WebServices,
    batch: str,
    admin: OperatorForm,
) -> Response:
    filed = await services.directory.requests.list(batch=batch, limit=1)
    outcome = await Fulfilment(services.directory).approve_batch(batch, actor=admin.actor, within=None)
    if filed and outcome.approved:
        await _tell(
            request,
            filed[0].filed_by,
            f"Lô yêu cầu {batch}: {outcome.approved} yêu cầu đã được duyệt",
            f"{outcome.approved} yêu cầu của lô {batch} đã được duyệt và thực hiện."
            " Mật khẩu tạm tải về tại trang Yêu cầu của cổng quản trị.",
            f"{outcome.approved} requests of batch {batch} were approved and carried out.",
        )
    refused = "; ".join(f"#{i}: {why}" for i, why in outcome.refused[:5])
    done = (
        f"Đã duyệt {outcome.approved} yêu cầu." + (f" Chưa duyệt được: {refused}" if refused else ""),
        f"{outcome.approved} requests approved." + (f" Not approved: {refused}" if refused else ""),
    )
    return redirect_after(
        request, admin.who, _queue_address({"trang_thai": "", "loai": "", "lo": batch}), done
    )


@router.get(REQUESTS + "/mat-khau.xlsx", include_in_schema=False)
async def passwords_by_get() -> Response:
    """405: handing the passwords over erases them, which no GET may do (a link or an image in a mail
    would be enough); without this the request page's GET route would take the path."""
    raise HTTPException(405, headers={"Allow": "POST"})


@router.post(REQUESTS + "/mat-khau.xlsx")
async def passwords(services: WebServices, admin: AdminForm) -> Response:
    """The temporary passwords of the manager's approved requests, once: handed over, they are erased.
    A POST with the session's CSRF token, since it consumes them."""
    waiting = [r for r in await _handed_over(services, admin) if r.payload.get("sealed_password")]
    if not waiting:
        raise HTTPException(404)
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Mật khẩu tạm"
    sheet.append(("Yêu cầu số", "Địa chỉ thư", "Họ tên", "Mật khẩu tạm (phải đổi khi đăng nhập)"))
    box = services.directory.factors.box
    domain = services.settings.server.domain
    for filed in waiting:
        name = " ".join(filter(None, (filed.payload.get(k) for k in ("family", "middle", "given"))))
        address = f"{filed.payload.get('address')}@{domain}"
        sheet.append((filed.id, address, name, box.open(filed.payload["sealed_password"])))
    out = io.BytesIO()
    text_only(book).save(out)
    for filed in waiting:
        payload = {k: v for k, v in filed.payload.items() if k != "sealed_password"}
        await services.directory.requests.update_payload(filed.id, payload)
    log.info("temporary passwords of %d requests handed over to %s", len(waiting), admin.actor)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": 'attachment; filename="mat-khau-tam.xlsx"',
            "Cache-Control": "no-store",
        },
    )


async def _handed_over(services: Any, admin: Admin) -> list[Filed]:
    """Approved requests this administrator filed (their temporary passwords are theirs to hand on)."""
    approved = await services.directory.requests.list(status="approved", limit=5000)
    return [r for r in approved if r.filed_by == admin.actor]


def _queue_address(filters: dict[str, str]) -> str:
    """The queue with the filters a form came from: where its act redirects to (Post/Redirect/Get)."""
    query = urlencode({name: value for name, value in filters.items() if value})
    return f"{REQUESTS}?{query}" if query else REQUESTS


def _back_filters(back: str) -> dict[str, str]:
    """The queue's filters the form came from (`trang_thai|loai|lo`)."""
    parts = [*back.split("|"), "", "", ""][:3]
    return dict(zip(("trang_thai", "loai", "lo"), parts, strict=True))


async def _tell(request: Request, local: str | None, subject: str, vi: str, en: str) -> None:
    """A notice to the person who filed; a failure to deliver it is logged, never the page's error."""
    if not local:
        return
    services = services_of(request)
    domain = services.settings.server.domain
    recipient = f"{local}@{domain}"
    try:
        await services.pipeline.tell(recipient, subject=subject, vi=vi, en=en)
    except Exception:
        log.exception("the notice to %s could not be delivered", recipient)
