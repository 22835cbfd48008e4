"""The mailbox lifecycle (R6): states, the reasons the regulation gives for each act, what each state allows.

    create   (no mailbox yet)                       → active
    change   active, locked                         → unchanged
    lock     active                                 → locked
    restore  locked, or revoked within retention    → active
    revoke   active, locked                         → revoked
    delete   active, locked, revoked                → deleted
    purge    revoked or deleted, retention over     → deleted (the data goes)
    erase    any state                              → deleted (R13.6: a lawful request; the data
                                                      goes now, the record stays as a tombstone)

`TRANSITIONS` is that table; anything not in it is refused. Every act needs a reason from `REASONS`
(R6.1-R6.6); acts an agency asks for through the procedure of Điều 7 (create, change, delete, restore)
and locks on a security warning from the competent authority also need `ref`, the request or official
document behind them. The service records who, when, why and `ref` in the audit log.

Decisions (REQUIREMENTS.md R6.4, R6.5): a locked mailbox keeps receiving mail, but nobody signs in to
it or sends from it until it is restored; revoked and deleted mailboxes refuse mail. Revoked data is
kept for a retention period (default 90 days) during which the mailbox can be restored, then purged.
A deleted mailbox cannot be restored (the agency asked for it by official request), and its data is
purged after the same period. A locked mailbox not accessed for 6 months is revoked like any other.
R6.4b (password unchanged for 3 months) is not a lock here: see `policy.passwords`.
"""

import datetime as dt
from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from hopthu.errors import HopThuError
from hopthu.policy.dates import add_months, warning_due

INACTIVE_MONTHS: Final = 6
WARNING_DAYS: Final = (30, 7)
RETENTION_DAYS: Final = 90
ADDRESS_QUARANTINE_DAYS: Final = 365


class Status(StrEnum):
    """The state of a mailbox (R6), stored by its value, shown by its Vietnamese label."""

    ACTIVE = "active"
    LOCKED = "locked"
    REVOKED = "revoked"
    DELETED = "deleted"

    @property
    def vi(self) -> str:
        return _STATUS_VI[self]


_STATUS_VI: Final = {
    Status.ACTIVE: "đang hoạt động",
    Status.LOCKED: "tạm khóa",
    Status.REVOKED: "đã thu hồi",
    Status.DELETED: "đã hủy bỏ",
}


class Action(StrEnum):
    """An act on a mailbox's lifecycle (R6.1-R6.6), plus the purge that ends retention."""

    CREATE = "create"
    CHANGE = "change"
    LOCK = "lock"
    RESTORE = "restore"
    REVOKE = "revoke"
    DELETE = "delete"
    PURGE = "purge"
    ERASE = "erase"

    @property
    def vi(self) -> str:
        return _ACTION_VI[self]


_ACTION_VI: Final = {
    Action.CREATE: "cấp mới",
    Action.CHANGE: "thay đổi thông tin",
    Action.LOCK: "tạm khóa",
    Action.RESTORE: "khôi phục",
    Action.REVOKE: "thu hồi",
    Action.DELETE: "hủy bỏ",
    Action.PURGE: "xóa hẳn dữ liệu",
    Action.ERASE: "xóa dữ liệu cá nhân",
}


class Reason(StrEnum):
    """Why an act is done, as the regulation lists it (R6.1-R6.6)."""

    NEW_STAFF = "new_staff"
    NEW_AGENCY = "new_agency"
    IMPORTED = "imported"
    AGENCY_MERGED = "agency_merged"
    AGENCY_DISSOLVED = "agency_dissolved"
    AGENCY_RENAMED = "agency_renamed"
    TRANSFERRED = "transferred"
    APPOINTED = "appointed"
    LEFT = "left"
    MOVED_OUTSIDE_CITY = "moved_outside_city"
    VIOLATION = "violation"
    SECURITY_WARNING = "security_warning"
    INACTIVE = "inactive"
    REQUESTED = "requested"
    RETENTION_ENDED = "retention_ended"
    LAWFUL_ERASURE = "lawful_erasure"

    @property
    def vi(self) -> str:
        return _REASON_VI[self]

    @property
    def needs_ref(self) -> bool:
        """Whether the act must cite a request or official document (Điều 7, or the authority's warning)."""
        return self not in _WITHOUT_REF


_REASON_VI: Final = {
    Reason.NEW_STAFF: "tiếp nhận, tuyển dụng mới cá nhân",
    Reason.NEW_AGENCY: "cơ quan, đơn vị mới thành lập chưa có hộp thư",
    Reason.IMPORTED: "chuyển từ hệ thống thư cũ",
    Reason.AGENCY_MERGED: "cơ quan, đơn vị sáp nhập",
    Reason.AGENCY_DISSOLVED: "cơ quan, đơn vị giải thể",
    Reason.AGENCY_RENAMED: "cơ quan, đơn vị đổi tên",
    Reason.TRANSFERRED: "cá nhân chuyển công tác",
    Reason.APPOINTED: "cá nhân được bổ nhiệm chức danh",
    Reason.LEFT: "cá nhân thôi không làm việc",
    Reason.MOVED_OUTSIDE_CITY: "cá nhân chuyển công tác ra ngoài thành phố",
    Reason.VIOLATION: "vi phạm Điều 3 của Quy chế",
    Reason.SECURITY_WARNING: "cảnh báo bảo mật của cơ quan chức năng",
    Reason.INACTIVE: "không truy cập trong 6 tháng",
    Reason.REQUESTED: "có nhu cầu sử dụng lại",
    Reason.RETENTION_ENDED: "hết thời hạn lưu giữ dữ liệu",
    Reason.LAWFUL_ERASURE: "yêu cầu xóa dữ liệu cá nhân hợp pháp (Luật 91/2025)",
}
# Acts the system does by itself (or the operator on what the system found) cite no document.
_WITHOUT_REF: Final = frozenset({Reason.IMPORTED, Reason.VIOLATION, Reason.INACTIVE, Reason.RETENTION_ENDED})

REASONS: Final[dict[Action, frozenset[Reason]]] = {
    Action.CREATE: frozenset({Reason.NEW_STAFF, Reason.NEW_AGENCY, Reason.IMPORTED}),  # R6.1, R13.7
    Action.CHANGE: frozenset(
        {
            Reason.AGENCY_MERGED,
            Reason.AGENCY_DISSOLVED,
            Reason.AGENCY_RENAMED,
            Reason.TRANSFERRED,
            Reason.APPOINTED,
        }
    ),  # R6.2, R4.4
    Action.DELETE: frozenset(
        {Reason.AGENCY_MERGED, Reason.AGENCY_DISSOLVED, Reason.LEFT, Reason.MOVED_OUTSIDE_CITY}
    ),  # R6.3
    Action.LOCK: frozenset({Reason.VIOLATION, Reason.SECURITY_WARNING}),  # R6.4a
    Action.REVOKE: frozenset({Reason.INACTIVE}),  # R6.5
    Action.RESTORE: frozenset({Reason.REQUESTED}),  # R6.6
    Action.PURGE: frozenset({Reason.RETENTION_ENDED}),  # R6.5 decision
    Action.ERASE: frozenset({Reason.LAWFUL_ERASURE}),  # R13.6; its `ref` is the legal basis
}
"""The reasons each act accepts."""

TRANSITIONS: Final[dict[tuple[Status | None, Action], Status]] = {
    (None, Action.CREATE): Status.ACTIVE,
    (Status.ACTIVE, Action.CHANGE): Status.ACTIVE,
    (Status.LOCKED, Action.CHANGE): Status.LOCKED,
    (Status.ACTIVE, Action.LOCK): Status.LOCKED,
    (Status.LOCKED, Action.RESTORE): Status.ACTIVE,
    (Status.REVOKED, Action.RESTORE): Status.ACTIVE,
    (Status.ACTIVE, Action.REVOKE): Status.REVOKED,
    (Status.LOCKED, Action.REVOKE): Status.REVOKED,
    (Status.ACTIVE, Action.DELETE): Status.DELETED,
    (Status.LOCKED, Action.DELETE): Status.DELETED,
    (Status.REVOKED, Action.DELETE): Status.DELETED,
    (Status.REVOKED, Action.PURGE): Status.DELETED,
    (Status.DELETED, Action.PURGE): Status.DELETED,
    **{(status, Action.ERASE): Status.DELETED for status in Status},
}
"""(current status, or None before the mailbox exists; act) → the status after it."""


def transition(
    current: Status | None,
    action: Action,
    *,
    reason: Reason | str,
    ref: str | None = None,
    within_retention: bool = True,
) -> Status:
    """The status after `action` on a mailbox in `current`, or a HopThuError explaining the refusal.

    `within_retention` says whether a revoked or deleted mailbox is still inside its retention period:
    restoring a revoked one needs it, purging needs it over.
    """
    after = check_allowed(current, action)
    if action is Action.RESTORE and current is Status.REVOKED and not within_retention:
        raise HopThuError(
            "Hộp thư đã thu hồi quá thời hạn lưu giữ, không thể khôi phục.",
            "The revoked mailbox is past its retention period and cannot be restored.",
            code="transition_not_allowed",
        )
    if action is Action.PURGE and within_retention:
        raise HopThuError(
            "Chưa hết thời hạn lưu giữ dữ liệu, chưa thể xóa hẳn.",
            "The retention period is not over; the data cannot be purged yet.",
            code="transition_not_allowed",
        )
    check_reason(action, reason, ref)
    return after


def check_allowed(current: Status | None, action: Action) -> Status:
    """The status after `action` from `current`, or the refusal when `TRANSITIONS` does not have it:
    asked when a request is filed (a list's row included) and again when it is carried out."""
    after = TRANSITIONS.get((current, action))
    if after is None:
        state_vi = current.vi if current else "chưa có hộp thư"
        state_en = current.value if current else "no mailbox yet"
        raise HopThuError(
            f"Không thể {action.vi} hộp thư ở trạng thái “{state_vi}”.",
            f"Cannot {action.value} a mailbox that is {state_en}.",
            code="transition_not_allowed",
        )
    return after


def check_password_reset(current: Status) -> None:
    """Decision: a temporary password is issued for a mailbox still in use, active or locked (a lock
    for lost control, R11.2, is often followed by a reset); a revoked or deleted one is restored
    first, or not at all."""
    if current not in (Status.ACTIVE, Status.LOCKED):
        raise HopThuError(
            f"Không thể cấp lại mật khẩu cho hộp thư ở trạng thái “{current.vi}”.",
            f"Cannot reset the password of a mailbox that is {current.value}.",
            code="transition_not_allowed",
        )


def check_reason(action: Action, reason: Reason | str, ref: str | None) -> None:
    try:
        known: Reason | None = Reason(reason)
    except ValueError:
        known = None
    if known is None or known not in REASONS[action]:
        allowed = sorted(REASONS[action])
        raise HopThuError(
            f"Cần nêu lý do {action.vi} hợp lệ: " + "; ".join(f"{r.value} ({r.vi})" for r in allowed) + ".",
            f"A valid reason to {action.value} is needed: " + ", ".join(allowed) + ".",
            code="reason_required",
        )
    if known.needs_ref and not (ref and ref.strip()):
        raise HopThuError(
            f"Cần ghi số văn bản hoặc yêu cầu làm căn cứ để {action.vi} hộp thư ({known.vi}).",
            f"The request or official document behind this {action.value} must be cited.",
            code="reference_required",
        )


def allowing(action: Action) -> list[Status]:
    """The states from which `action` may be done (`TRANSITIONS`), in their declared order: what a
    job's query selects before asking `transition` about each mailbox."""
    return [status for status in Status if (status, action) in TRANSITIONS]


def receives_mail(status: Status) -> bool:
    """Whether mail to the mailbox is accepted: active and locked ones keep receiving (R6.4 decision)."""
    return status in (Status.ACTIVE, Status.LOCKED)


def can_sign_in(status: Status) -> bool:
    """Whether the owner or a delegate may sign in (only an active mailbox)."""
    return status is Status.ACTIVE


def can_send(status: Status) -> bool:
    """Whether mail may be sent from the mailbox (only an active one)."""
    return status is Status.ACTIVE


def listed(status: Status) -> bool:
    """Whether the mailbox is shown in the city's address book (the webmail's directory page and
    the CardDAV book). Decision: only an active one. The book exists so staff can write to each
    other about work (Điều 8); a locked mailbox still receives mail but its owner cannot read it
    until it is restored, so the book does not point people at it, and revoked, deleted and erased
    people (R6.3, R6.5, R13.6) are not the city's staff any more: their names are not published."""
    return status is Status.ACTIVE


def revocation_due_at(
    created_at: dt.datetime, last_access_at: dt.datetime | None, months: int = INACTIVE_MONTHS
) -> dt.datetime:
    """When an unused mailbox is revoked (R6.5): `months` calendar months after creation or last access."""
    since = created_at if last_access_at is None else max(created_at, last_access_at)
    return add_months(since, months)


def unused_since(now: dt.datetime, months: int = INACTIVE_MONTHS) -> dt.datetime:
    """A mailbox created and last accessed before this moment is due for revocation at `now`
    (`revocation_due_at`, read backwards for a query over every mailbox)."""
    return add_months(now, -months)


def revocation_warning_due(
    due_at: dt.datetime, now: dt.datetime, days_before: Sequence[int] = WARNING_DAYS
) -> int | None:
    """The warning (days before revocation) owed at `now` to the owner and the agency's mailbox
    manager, or None when none is due yet (R6.5 decision: 30 and 7 days before; see `warning_due`)."""
    return warning_due(due_at, now, days_before)


def retention_ends_at(since: dt.datetime, days: int = RETENTION_DAYS) -> dt.datetime:
    """When the data of a mailbox revoked or deleted at `since` may be purged."""
    return since + dt.timedelta(days=days)


def retention_over_before(now: dt.datetime, days: int = RETENTION_DAYS) -> dt.datetime:
    """The latest revocation or deletion whose retention is over at `now`: the bound a query of
    mailboxes to purge compares with (`retention_ends_at(since, days) <= now` exactly when
    `since <= retention_over_before(now, days)`)."""
    return now - dt.timedelta(days=days)


def address_free_before(now: dt.datetime, days: int = ADDRESS_QUARANTINE_DAYS) -> dt.datetime:
    """The latest deletion whose address may be given to someone else at `now` (R6.3 decision: a
    deleted address stays unavailable for `days`, default a year, so mail meant for the person who
    left does not reach a newcomer)."""
    return now - dt.timedelta(days=days)
