"""R13.3 and the limits on guessing passwords (`policy.signin`), and who may reset whose password
(`policy.authority`): pure rules, the time a parameter."""

import pytest

from hopthu.errors import HopThuError
from hopthu.policy import authority, signin

LIMITS = signin.Limits()


def test_r13_3_five_consecutive_failures_pause_the_account_for_fifteen_minutes() -> None:
    assert LIMITS.account_failures == 5 and LIMITS.pause_seconds == 15 * 60
    assert not signin.pauses_account(4, LIMITS)
    assert signin.pauses_account(5, LIMITS)


def test_a_source_failing_on_many_accounts_is_paused() -> None:
    assert not signin.pauses_source(LIMITS.source_accounts - 1, LIMITS)
    assert signin.pauses_source(LIMITS.source_accounts, LIMITS)


def test_an_account_failing_from_many_sources_is_guarded() -> None:
    assert not signin.guarded(LIMITS.guard_sources - 1, LIMITS)
    assert signin.guarded(LIMITS.guard_sources, LIMITS)


def test_windows_and_pauses_end_with_time() -> None:
    assert not signin.window_expired(100.0, 100.0 + 899, 900)
    assert signin.window_expired(100.0, 100.0 + 900, 900)
    assert signin.remaining(1000.0, 400.0) == 600.0
    assert signin.remaining(1000.0, 1200.0) == 0.0
    assert [signin.minutes_left(s) for s in (1.0, 60.0, 61.0, 899.0, 900.0)] == [1, 1, 2, 15, 15]


def test_the_delay_grows_per_failure_up_to_a_bound_and_the_guard_adds_to_it() -> None:
    delays = [signin.failure_delay(n, is_guarded=False, limits=LIMITS) for n in range(1, 12)]
    assert delays == sorted(delays) and delays[0] == signin.STEP_SECONDS
    assert max(delays) == signin.MAX_STEP_DELAY
    guarded = signin.failure_delay(1, is_guarded=True, limits=LIMITS)
    assert guarded == signin.STEP_SECONDS + LIMITS.guard_delay_seconds


@pytest.mark.parametrize(
    ("actor", "target", "allowed"),
    [
        ({"operator"}, set(), True),
        ({"operator"}, {"operator"}, True),
        ({"operator"}, {"helpdesk"}, True),
        ({"helpdesk"}, set(), True),
        ({"helpdesk"}, {"operator"}, False),
        ({"helpdesk"}, {"helpdesk"}, False),
        ({"helpdesk"}, {"agency_manager"}, False),
        ({"helpdesk", "agency_manager"}, {"operator", "agency_manager"}, False),
        ({"agency_manager"}, set(), False),
        (set(), set(), False),
    ],
)
def test_roles_are_not_a_ladder(actor: set[str], target: set[str], allowed: bool) -> None:
    """The helpdesk resets ordinary mailboxes' passwords only; an administrator's is an operator's act."""
    assert authority.may_reset_password(frozenset(actor), frozenset(target)) is allowed
    if allowed:
        authority.check_password_reset(actor, target)
    else:
        with pytest.raises(HopThuError) as refused:
            authority.check_password_reset(actor, target)
        assert refused.value.code == "forbidden" and refused.value.vi and refused.value.en
