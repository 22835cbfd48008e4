"""What the audit log's codes say to a person (R6, R13.4): every action code the code base records
(`account.locked`, `request.batch_filed`, …), its targets (`request:12`, `batch:…`) and its details
(`{"kind": "create"}`), in Vietnamese and English, for the audit page and every page's history.

The codes stay as they are in the database and in the .csv export (an inspection matches them
exactly); only what the pages show is named here. `tests/web/test_audit_names.py` reads the source
for every code recorded and fails when one has no name here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hopthu.policy.lifecycle import Reason
from hopthu.web.admin.requests import KIND_NAMES, STATUS_NAMES

Text = tuple[str, str]

FAMILIES: dict[str, Text] = {
    "account": ("Hộp thư", "Mailboxes"),
    "alias": ("Bí danh", "Aliases"),
    "former_address": ("Địa chỉ cũ của tỉnh trước sáp nhập", "Former provinces' addresses"),
    "delegation": ("Ủy quyền", "Delegations"),
    "agency": ("Cơ quan, đơn vị", "Agencies"),
    "request": ("Yêu cầu", "Requests"),
    "role": ("Quyền quản trị", "Administrative roles"),
    "admin": ("Xác thực hai lớp", "Second factor"),
    "api_token": ("Khóa API", "API tokens"),
    "app_password": ("Mật khẩu ứng dụng", "App passwords"),
    "signin": ("Đăng nhập", "Sign-in"),
    "sender_rule": ("Chặn, cho phép người gửi", "Blocked and allowed senders"),
    "quarantine": ("Thư bị giữ lại", "Held mail"),
    "queue": ("Hàng đợi gửi thư", "Outgoing queue"),
    "mail": ("Thư", "Mail"),
    "maillog": ("Nhật ký thư", "Mail log"),
    "personal_data": ("Dữ liệu cá nhân", "Personal data"),
    "breach": ("Sự cố dữ liệu cá nhân", "Data breaches"),
    "accesslog": ("Nhật ký truy cập", "Access log"),
    "migration": ("Chuyển hộp thư từ hệ thống cũ", "Mailbox migration"),
}

ACTIONS: dict[str, Text] = {
    "account.created": ("Cấp mới hộp thư", "Mailbox created"),
    "account.changed": ("Chuyển công tác, thay đổi", "Transferred, changed"),
    "account.locked": ("Tạm khóa", "Locked"),
    "account.restored": ("Khôi phục", "Restored"),
    "account.revoked": ("Thu hồi", "Revoked"),
    "account.deleted": ("Hủy bỏ", "Deleted"),
    "account.purged": ("Xóa hẳn khi hết thời hạn lưu giữ", "Purged after retention"),
    "account.address_changed": ("Đổi địa chỉ thư", "Address changed"),
    "account.address_released": ("Trả lại địa chỉ để dùng lại", "Address released"),
    "account.password_reset": ("Cấp lại mật khẩu tạm", "Temporary password issued"),
    "account.password_changed": ("Đổi mật khẩu", "Password changed"),
    "account.password_expired": ("Mật khẩu hết hạn", "Password expired"),
    "account.quota_changed": ("Đặt dung lượng", "Quota set"),
    "account.title_changed": ("Đổi chức vụ", "Job title changed"),
    "account.exported": ("Xuất toàn bộ thư", "All mail exported"),
    "alias.added": ("Thêm bí danh", "Alias added"),
    "alias.removed": ("Bỏ bí danh", "Alias removed"),
    "former_address.added": ("Ghi địa chỉ cũ", "Old address recorded"),
    "former_address.removed": ("Bỏ địa chỉ cũ", "Old address removed"),
    "delegation.granted": ("Ủy quyền", "Delegation granted"),
    "delegation.revoked": ("Bỏ ủy quyền", "Delegation withdrawn"),
    "agency.created": ("Thêm cơ quan, đơn vị", "Agency added"),
    "agency.renamed": ("Đổi tên cơ quan", "Agency renamed"),
    "agency.merged": ("Sáp nhập cơ quan", "Agency merged"),
    "agency.dissolved": ("Giải thể cơ quan", "Agency dissolved"),
    "agency.staff_declared": ("Khai báo biên chế", "Staff count declared"),
    "request.filed": ("Gửi yêu cầu", "Request filed"),
    "request.batch_filed": ("Gửi lô yêu cầu theo danh sách", "Batch of requests filed"),
    "request.approved": ("Duyệt yêu cầu", "Request approved"),
    "request.rejected": ("Từ chối yêu cầu", "Request rejected"),
    "role.granted": ("Giao quyền quản trị", "Role granted"),
    "role.revoked": ("Bỏ quyền quản trị", "Role withdrawn"),
    "admin.factor_enrolled": ("Đăng ký xác thực hai lớp", "Second factor enrolled"),
    "admin.factor_reset": ("Đặt lại xác thực hai lớp", "Second factor reset"),
    "api_token.created": ("Tạo khóa API", "API token created"),
    "api_token.revoked": ("Thu hồi khóa API", "API token revoked"),
    "app_password.created": ("Tạo mật khẩu ứng dụng", "App password created"),
    "app_password.revoked": ("Thu hồi mật khẩu ứng dụng", "App password revoked"),
    "app_password.revoked_all": (
        "Thu hồi mọi mật khẩu ứng dụng khi mật khẩu đổi",
        "All app passwords revoked with the password change",
    ),
    "signin.paused": ("Tạm dừng đăng nhập sau nhiều lần sai", "Sign-in paused after failures"),
    "sender_rule.block": ("Chặn người gửi (toàn thành phố)", "Sender blocked (city-wide)"),
    "sender_rule.allow": ("Cho phép người gửi (toàn thành phố)", "Sender allowed (city-wide)"),
    "sender_rule.removed": ("Bỏ quy tắc người gửi", "Sender rule removed"),
    "quarantine.released": ("Trả thư bị giữ lại", "Held mail released"),
    "quarantine.deleted": ("Xóa thư bị giữ lại", "Held mail deleted"),
    "quarantine.expired": ("Xóa thư giữ lại quá hạn", "Held mail expired"),
    "queue.deleted": ("Xóa thư khỏi hàng đợi gửi", "Outgoing message deleted"),
    "mail.sent_as_delegate": ("Gửi thư nhân danh hộp thư cơ quan", "Mail sent as a delegate"),
    "maillog.searched": ("Tra cứu nhật ký thư", "Mail log searched"),
    "maillog.viewed": ("Xem một thư trong nhật ký thư", "Mail log entry viewed"),
    "maillog.exported": ("Xuất nhật ký thư", "Mail log exported"),
    "personal_data.exported": ("Xuất dữ liệu cá nhân", "Personal data exported"),
    "mail.archive_imported": ("Nhập thư từ tệp lưu trữ vào hộp thư", "Mail imported from an archive file"),
    "migration.started": ("Bắt đầu chuyển hộp thư từ hệ thống cũ", "Mailbox migration started"),
    "migration.resumed": ("Chạy tiếp lượt chuyển hộp thư", "Mailbox migration resumed"),
    "migration.paused": ("Tạm dừng lượt chuyển hộp thư", "Mailbox migration paused"),
    "personal_data.erased": ("Xóa dữ liệu cá nhân theo yêu cầu", "Personal data erased on request"),
    "breach.recorded": ("Ghi nhận sự cố dữ liệu cá nhân", "Data breach recorded"),
    "breach.reported": ("Đã báo cáo sự cố với cơ quan chức năng", "Data breach reported"),
    "breach.closed": ("Đóng sự cố dữ liệu cá nhân", "Data breach closed"),
    "accesslog.searched": ("Tra cứu nhật ký truy cập", "Access log searched"),
    "accesslog.exported": ("Xuất nhật ký truy cập", "Access log exported"),
}

# The roles of `directory.roles.ROLES`, as the roles page and the audit log's details name them.
ROLE_NAMES: dict[str, Text] = {
    "operator": ("quản trị của Sở", "operator"),
    "helpdesk": ("hỗ trợ", "helpdesk"),
    "agency_manager": ("cán bộ đầu mối của cơ quan", "agency mailbox manager"),
    "auditor": ("kiểm tra, giám sát", "auditor"),
}

_TARGETS: dict[str, Text] = {
    "request": ("Yêu cầu số", "Request"),
    "batch": ("Lô", "Batch"),
    "maillog": ("Nhật ký thư số", "Mail log entry"),
    "api_token": ("Khóa API số", "API token"),
    "breach": ("Sự cố số", "Breach"),
}

_DETAILS: dict[str, Text] = {
    "kind": ("loại", "kind"),
    "agency": ("cơ quan", "agency"),
    "channel": ("kênh", "channel"),
    "count": ("số yêu cầu", "requests"),
    "from": ("từ", "from"),
    "to": ("thành", "to"),
    "note": ("ghi chú", "note"),
    "rank": ("cấp bậc", "rank"),
    "job_title": ("chức vụ", "job title"),
    "display_name": ("tên hiển thị", "display name"),
    "name": ("tên", "name"),
    "parent": ("trực thuộc", "part of"),
    "into": ("vào", "into"),
    "file": ("tệp", "file"),
    "accounts": ("số hộp thư", "mailboxes"),
    "accounts_deleted": ("số hộp thư hủy bỏ", "mailboxes deleted"),
    "alias": ("bí danh", "alias"),
    "former_address": ("địa chỉ cũ", "old address"),
    "how": ("cách ghi", "recorded by"),
    "account_id": ("hộp thư số", "mailbox number"),
    "person": ("người", "person"),
    "can_send": ("được gửi nhân danh", "may send as"),
    "role": ("quyền", "role"),
    "chosen": ("địa chỉ do Sở chọn", "address chosen"),
    "scope": ("phạm vi", "scope"),
    "moved": ("chuyển từ danh sách kia", "moved from the other list"),
    "source": ("từ địa chỉ", "from address"),
    "protocol": ("giao thức", "protocol"),
    "id": ("số", "number"),
    "subject": ("tiêu đề", "subject"),
    "recipients": ("số người nhận", "recipients"),
    "score": ("điểm thư rác", "spam score"),
    "delivered": ("đã chuyển", "delivered"),
    "sender": ("người gửi", "sender"),
    "recipient": ("người nhận", "recipient"),
    "message_id": ("mã thư", "message id"),
    "filters": ("bộ lọc", "filters"),
    "rows": ("số dòng", "rows"),
    "basis": ("căn cứ pháp lý", "legal basis"),
    "messages": ("số thư", "messages"),
    "discovered_at": ("phát hiện lúc", "discovered at"),
    "affected_count": ("số người bị ảnh hưởng", "affected"),
    "at": ("lúc", "at"),
    "app_passwords": ("số mật khẩu ứng dụng", "app passwords"),
}

_VALUES: dict[str, Text] = {
    **KIND_NAMES,
    **STATUS_NAMES,
    "active": ("Đang hoạt động", "Active"),
    "locked": ("Tạm khóa", "Locked"),
    "revoked": ("Thu hồi", "Revoked"),
    "deleted": ("Hủy bỏ", "Deleted"),
    "personal": ("Cá nhân", "Personal"),
    "sub_unit": ("Đơn vị trực thuộc", "Sub-unit"),
    "portal": ("cổng quản trị", "portal"),
    "mail": ("thư", "mail"),
    "cli": ("dòng lệnh", "command line"),
    "api": ("API", "API"),
    "import": ("nhập theo danh sách", "imported from a list"),
    "manual": ("ghi từng địa chỉ", "entered one by one"),
    "city": ("toàn thành phố", "city-wide"),
    "block": ("chặn", "block"),
    "allow": ("cho phép", "allow"),
    **ROLE_NAMES,
}


def action_name(code: str) -> Text:
    """The act as a person reads it; a code recorded before it had a name shows as it is."""
    return ACTIONS.get(code, (code, code))


def reason_name(reason: str | None) -> Text:
    """A reason from the regulation's list (`security_warning`) by its name; anyone's text as it is."""
    if not reason:
        return ("", "")
    try:
        known = Reason(reason)
    except ValueError:
        return (reason, reason)
    return (known.vi.capitalize(), known.value.replace("_", " ").capitalize())


def target_name(target: str | None) -> Text:
    """`request:12` as "Yêu cầu số 12", `batch:ab12` as "Lô ab12"; an address or a code as it is."""
    if not target:
        return ("", "")
    kind, colon, rest = target.partition(":")
    if colon and kind in _TARGETS:
        vi, en = _TARGETS[kind]
        return (f"{vi} {rest}", f"{en} {rest}")
    return (target, target)


def _value(value: Any) -> Text:
    if value is True:
        return ("có", "yes")
    if value is False:
        return ("không", "no")
    if isinstance(value, dict):
        parts = [f"{key}: {inner}" for key, inner in value.items()]
        return ("; ".join(parts), "; ".join(parts))
    if isinstance(value, str) and value in _VALUES:
        return _VALUES[value]
    return (str(value), str(value))


def details_text(details: dict[str, Any] | None) -> Text:
    """An event's details as "loại: Cấp mới · cơ quan: sonv", each key and known value named;
    empty values left out."""
    shown = {key: value for key, value in (details or {}).items() if value not in (None, "", [], {})}
    return _joined((_DETAILS.get(key, (key, key)), _value(value)) for key, value in shown.items())


def _joined(pairs: Iterable[tuple[Text, Text]]) -> Text:
    listed = list(pairs)
    vi = " · ".join(f"{name[0]}: {value[0]}" for name, value in listed)
    en = " · ".join(f"{name[1]}: {value[1]}" for name, value in listed)
    return (vi, en)


_REQUEST_FIELDS: dict[str, Text] = {
    "family": ("Họ", "Family name"),
    "middle": ("Tên đệm", "Middle name"),
    "given": ("Tên", "Given name"),
    "agency": ("Cơ quan, đơn vị", "Agency"),
    "rank": ("Cấp bậc", "Rank"),
    "job_title": ("Chức vụ", "Job title"),
    "date": ("Ngày", "Date"),
    "address": ("Địa chỉ thư", "Address"),
    "proposed": ("Địa chỉ đề xuất", "Proposed address"),
    "proposals": ("Các địa chỉ đề xuất", "Proposed addresses"),
    "reason": ("Lý do", "Reason"),
    "ref": ("Số văn bản", "Document"),
    "note": ("Ghi chú", "Note"),
    "person": ("Người", "Person"),
}
_HIDDEN_FIELDS = frozenset({"sealed_password", "line", "problem"})


def request_fields(payload: dict[str, Any]) -> list[tuple[Text, Text]]:
    """A request's contents as the request page lists them: each field by its name, a reason by the
    regulation's word for it, lists joined; the sealed password and internal fields never."""
    shown = []
    for key, value in payload.items():
        if key in _HIDDEN_FIELDS or value in (None, "", [], {}):
            continue
        if key == "reason":
            text = reason_name(value)
        elif isinstance(value, list):
            joined = ", ".join(str(item) for item in value)
            text = (joined, joined)
        else:
            text = _value(value)
        shown.append((_REQUEST_FIELDS.get(key, (key, key)), text))
    return shown


def action_choices() -> list[tuple[Text, str, list[tuple[str, Text]]]]:
    """The audit page's filter: per family its name, its prefix (every act of it) and its acts."""
    return [
        (
            names,
            f"{family}.",
            [(code, text) for code, text in ACTIONS.items() if code.startswith(f"{family}.")],
        )
        for family, names in FAMILIES.items()
    ]
