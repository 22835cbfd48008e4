"""The mailbox lifecycle (R6): the transition table, reasons, what each state allows, and its dates."""

import datetime as dt
import itertools

import pytest

from hopthu.errors import HopThuError
from hopthu.policy.lifecycle import (
    REASONS,
    TRANSITIONS,
    Action,
    Reason,
    Status,
    allowing,
    can_send,
    can_sign_in,
    receives_mail,
    retention_ends_at,
    revocation_due_at,
    revocation_warning_due,
    transition,
    unused_since,
)

VN = dt.timezone(dt.timedelta(hours=7))
A, L, R, D = Status.ACTIVE, Status.LOCKED, Status.REVOKED, Status.DELETED

# Written from REQUIREMENTS.md R6 independently of the module: (state, act) → state after.
EXPECTED = {
    (None, Action.CREATE): A,  # R6.1
    (A, Action.CHANGE): A,  # R6.2
    (L, Action.CHANGE): L,
    (A, Action.LOCK): L,  # R6.4
    (L, Action.RESTORE): A,  # R6.6
    (R, Action.RESTORE): A,  # R6.6, within retention
    (A, Action.REVOKE): R,  # R6.5
    (L, Action.REVOKE): R,
    (A, Action.DELETE): D,  # R6.3
    (L, Action.DELETE): D,
    (R, Action.DELETE): D,
    (R, Action.PURGE): D,  # R6.5 decision: after retention
    (D, Action.PURGE): D,
    # R13.6: erasure on a lawful request, from any state, leaves a deleted tombstone
    (A, Action.ERASE): D,
    (L, Action.ERASE): D,
    (R, Action.ERASE): D,
    (D, Action.ERASE): D,
}


def a_reason(action: Action) -> Reason:
    return min(REASONS[action])


@pytest.mark.parametrize(("current", "action"), list(itertools.product([None, *Status], Action)))
def test_r6_transition_table_is_exactly_the_regulations(current: Status | None, action: Action) -> None:
    """R6: every (state, act) pair is either the allowed transition or a refusal in Vietnamese."""
    assert TRANSITIONS == EXPECTED

    def act() -> Status:
        within_retention = action is not Action.PURGE
        return transition(
            current, action, reason=a_reason(action), ref="CV 123/UBND", within_retention=within_retention
        )

    if (current, action) in EXPECTED:
        assert act() is EXPECTED[current, action]
    else:
        with pytest.raises(HopThuError) as refused:
            act()
        assert refused.value.code == "transition_not_allowed"
        assert f"Không thể {action.vi}" in refused.value.vi


@pytest.mark.parametrize(
    ("status", "receives", "signs_in", "sends"),
    [(A, True, True, True), (L, True, False, False), (R, False, False, False), (D, False, False, False)],
)
def test_r6_4_what_each_state_allows(status: Status, receives: bool, signs_in: bool, sends: bool) -> None:
    """R6.4 decision: a locked mailbox receives, but nobody signs in or sends; revoked and deleted refuse."""
    assert (receives_mail(status), can_sign_in(status), can_send(status)) == (receives, signs_in, sends)


def test_r6_every_state_and_act_has_a_vietnamese_label() -> None:
    assert {s.vi for s in Status} == {"đang hoạt động", "tạm khóa", "đã thu hồi", "đã hủy bỏ"}
    assert all(action.vi for action in Action)
    assert all(reason.vi for reason in Reason)


@pytest.mark.parametrize(
    ("action", "reasons"),
    [
        (Action.CREATE, {Reason.NEW_STAFF, Reason.NEW_AGENCY, Reason.IMPORTED}),
        (
            Action.CHANGE,
            {
                Reason.AGENCY_MERGED,
                Reason.AGENCY_DISSOLVED,
                Reason.AGENCY_RENAMED,
                Reason.TRANSFERRED,
                Reason.APPOINTED,
            },
        ),
        (
            Action.DELETE,
            {Reason.AGENCY_MERGED, Reason.AGENCY_DISSOLVED, Reason.LEFT, Reason.MOVED_OUTSIDE_CITY},
        ),
        (Action.LOCK, {Reason.VIOLATION, Reason.SECURITY_WARNING}),
        (Action.REVOKE, {Reason.INACTIVE}),
        (Action.RESTORE, {Reason.REQUESTED}),
        (Action.PURGE, {Reason.RETENTION_ENDED}),
    ],
)
def test_r6_reasons_of_each_act(action: Action, reasons: set[Reason]) -> None:
    """R6.1-R6.6: the reasons the regulation gives for each act, and only those."""
    assert REASONS[action] == reasons


@pytest.mark.parametrize("reason", ["", "because", Reason.INACTIVE, "inactive"])
def test_r6_4_a_lock_without_one_of_its_reasons_is_refused(reason: str) -> None:
    """R6.4: a lock needs a violation of R3 or a security warning; inactivity is not a reason to lock."""
    with pytest.raises(HopThuError) as refused:
        transition(A, Action.LOCK, reason=reason)
    assert refused.value.code == "reason_required"
    assert "vi phạm Điều 3" in refused.value.vi


def test_r6_a_reason_may_be_given_as_its_code() -> None:
    assert transition(A, Action.LOCK, reason="violation") is L


@pytest.mark.parametrize(
    ("current", "action", "reason"),
    [
        (None, Action.CREATE, Reason.NEW_STAFF),
        (A, Action.CHANGE, Reason.TRANSFERRED),
        (A, Action.DELETE, Reason.LEFT),
        (L, Action.RESTORE, Reason.REQUESTED),
        (A, Action.LOCK, Reason.SECURITY_WARNING),
    ],
)
def test_r7_acts_on_request_cite_the_request_or_document(
    current: Status | None, action: Action, reason: Reason
) -> None:
    """R6, R7: create, change, delete, restore and a lock on the authority's warning cite a document."""
    for ref in (None, "", "  "):
        with pytest.raises(HopThuError) as refused:
            transition(current, action, reason=reason, ref=ref)
        assert refused.value.code == "reference_required"
    transition(current, action, reason=reason, ref="Công văn 45/SNV-VP")


@pytest.mark.parametrize(
    ("current", "action", "reason", "within_retention"),
    [
        (A, Action.REVOKE, Reason.INACTIVE, True),
        (A, Action.LOCK, Reason.VIOLATION, True),
        (R, Action.PURGE, Reason.RETENTION_ENDED, False),
        (None, Action.CREATE, Reason.IMPORTED, True),
    ],
)
def test_r6_acts_the_system_does_itself_need_no_document(
    current: Status | None, action: Action, reason: Reason, within_retention: bool
) -> None:
    transition(current, action, reason=reason, within_retention=within_retention)


def test_r6_5_a_revoked_mailbox_is_restored_only_within_retention() -> None:
    """R6.5, R6.6: revoked data is kept for the retention period, in which it can be restored."""
    assert transition(R, Action.RESTORE, reason=Reason.REQUESTED, ref="Đơn 7", within_retention=True) is A
    with pytest.raises(HopThuError) as refused:
        transition(R, Action.RESTORE, reason=Reason.REQUESTED, ref="Đơn 7", within_retention=False)
    assert "quá thời hạn lưu giữ" in refused.value.vi


def test_r6_5_data_is_purged_only_after_retention() -> None:
    """R6.5 decision: purge after the retention period, never within it."""
    for current in (R, D):
        with pytest.raises(HopThuError) as refused:
            transition(current, Action.PURGE, reason=Reason.RETENTION_ENDED, within_retention=True)
        assert refused.value.code == "transition_not_allowed"
        assert transition(current, Action.PURGE, reason=Reason.RETENTION_ENDED, within_retention=False) is D


def test_r6_3_a_deleted_mailbox_cannot_be_restored() -> None:
    """R6.6: restore applies to locked and revoked mailboxes, not to deleted ones."""
    with pytest.raises(HopThuError):
        transition(D, Action.RESTORE, reason=Reason.REQUESTED, ref="Đơn 8")


def test_r6_5_revocation_is_due_six_calendar_months_after_creation_or_last_access() -> None:
    """R6.5: no access for 6 months since creation or the last access."""
    created = dt.datetime(2025, 2, 28, 8, 0, tzinfo=VN)
    assert revocation_due_at(created, None) == dt.datetime(2025, 8, 28, 8, 0, tzinfo=VN)
    last = dt.datetime(2025, 8, 31, 17, 0, tzinfo=VN)
    assert revocation_due_at(created, last) == dt.datetime(2026, 2, 28, 17, 0, tzinfo=VN)
    # an access recorded before creation (imported history) does not shorten the period
    assert revocation_due_at(created, created - dt.timedelta(days=30)) == dt.datetime(
        2025, 8, 28, 8, 0, tzinfo=VN
    )
    assert revocation_due_at(created, None, months=12) == dt.datetime(2026, 2, 28, 8, 0, tzinfo=VN)


def test_r6_5_warnings_30_and_7_days_before_and_90_days_of_retention() -> None:
    """R6.5 decision: owners and managers are warned 30 and 7 days before; data kept 90 days after."""
    due = dt.datetime(2026, 2, 28, 17, 0, tzinfo=VN)
    assert revocation_warning_due(due, dt.datetime(2026, 1, 29, 16, 59, tzinfo=VN)) is None
    assert revocation_warning_due(due, dt.datetime(2026, 1, 29, 17, 0, tzinfo=VN)) == 30
    assert revocation_warning_due(due, dt.datetime(2026, 2, 21, 16, 59, tzinfo=VN)) == 30
    assert revocation_warning_due(due, dt.datetime(2026, 2, 21, 17, 0, tzinfo=VN)) == 7
    assert revocation_warning_due(due, due - dt.timedelta(days=14), days_before=(1, 14)) == 14
    assert revocation_warning_due(due, due - dt.timedelta(hours=1), days_before=(1, 14)) == 1
    assert retention_ends_at(due) == dt.datetime(2026, 5, 29, 17, 0, tzinfo=VN)
    assert retention_ends_at(due, days=30) == dt.datetime(2026, 3, 30, 17, 0, tzinfo=VN)


def test_r6_jobs_select_the_states_an_act_is_allowed_from() -> None:
    """R6.5: revocation looks at active and locked mailboxes; purging at revoked and deleted ones."""
    assert allowing(Action.REVOKE) == [A, L]
    assert allowing(Action.PURGE) == [R, D]
    assert allowing(Action.RESTORE) == [L, R]
    assert allowing(Action.CREATE) == []


def test_r6_5_unused_since_reads_the_revocation_date_backwards() -> None:
    """R6.5: a mailbox last used before `unused_since(now)` is due for revocation at `now`."""
    now = dt.datetime(2026, 8, 31, 9, 0, tzinfo=VN)
    bound = unused_since(now)
    assert bound == dt.datetime(2026, 2, 28, 9, 0, tzinfo=VN)
    assert revocation_due_at(bound - dt.timedelta(seconds=1), None) <= now
    assert unused_since(now, months=12) == dt.datetime(2025, 8, 31, 9, 0, tzinfo=VN)
