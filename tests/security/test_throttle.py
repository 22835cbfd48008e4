"""The sign-in throttle's counters (`security.throttle`) on a clock the test moves: the three limits
of `policy.signin` and memory that stays bounded whatever an attacker sends."""

from __future__ import annotations

from hopthu.policy.signin import Limits
from hopthu.security.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(**limits: float) -> tuple[LoginThrottle, Clock]:
    clock = Clock()
    return LoginThrottle(Limits(**limits), clock=clock), clock  # type: ignore[arg-type]


def test_r13_3_five_failures_pause_the_account_for_that_source_only() -> None:
    guard, clock = throttle()
    outcomes = [guard.failed("nvminh", "198.51.100.7") for _ in range(5)]
    assert [o.paused_account for o in outcomes] == [False] * 4 + [True]  # told once, at the fifth
    assert guard.paused("nvminh", "198.51.100.7") == 15 * 60
    assert guard.paused("nvminh", "203.0.113.5") == 0  # the owner, elsewhere
    assert guard.source_paused("198.51.100.7") == 0  # one account: not spraying
    clock.now += 15 * 60
    assert guard.paused("nvminh", "198.51.100.7") == 0


def test_a_success_ends_the_run_of_failures() -> None:
    guard, _ = throttle()
    for _ in range(4):
        guard.failed("nvminh", "198.51.100.7")
    guard.succeeded("nvminh", "198.51.100.7")
    assert not any(guard.failed("nvminh", "198.51.100.7").paused_account for _ in range(4))


def test_spraying_many_accounts_pauses_the_source_for_all_accounts() -> None:
    guard, clock = throttle(source_accounts=20)
    outcomes = [guard.failed(f"person{n}", "192.0.2.66") for n in range(20)]
    assert [o.paused_source for o in outcomes] == [False] * 19 + [True]
    assert guard.source_paused("192.0.2.66") == 15 * 60
    assert guard.source_paused("192.0.2.67") == 0
    clock.now += 15 * 60
    assert guard.source_paused("192.0.2.66") == 0


def test_one_stale_password_retried_counts_as_one_account_not_as_spraying() -> None:
    guard, _ = throttle(source_accounts=20)
    for _ in range(4):
        for n in range(10):  # ten phones behind one office address, each with an old password
            assert not guard.failed(f"person{n}", "192.0.2.1").paused_source
    assert guard.source_paused("192.0.2.1") == 0


def test_the_source_window_slides_on() -> None:
    guard, clock = throttle(source_accounts=20)
    for n in range(19):
        guard.failed(f"person{n}", "192.0.2.66")
    clock.now += 15 * 60  # the window closed: counting starts again
    assert not any(guard.failed(f"other{n}", "192.0.2.66").paused_source for n in range(19))


def test_an_account_guessed_from_many_sources_slows_them_without_pausing_anyone() -> None:
    guard, _ = throttle(guard_sources=10, guard_delay_seconds=3.0)
    delays = [guard.failed("nvminh", f"10.0.0.{n}").delay for n in range(12)]
    assert delays[:9] == [0.25] * 9
    assert delays[9:] == [3.25] * 3
    assert guard.paused("nvminh", "203.0.113.5") == 0  # the owner signs in
    assert all(guard.paused("nvminh", f"10.0.0.{n}") == 0 for n in range(12))


def test_memory_is_bounded_however_many_keys_an_attacker_makes() -> None:
    guard = LoginThrottle(Limits(), clock=Clock(), max_entries=100)
    for n in range(5000):
        guard.failed(f"nobody{n}", f"10.{n // 250}.{n % 250}.1")
    pairs, sources, accounts = guard.sizes()
    assert pairs <= 100 and sources <= 100 and accounts <= 100
    # and the most recent keys are the ones kept
    for _ in range(4):
        guard.failed("nobody4999", "10.19.249.1")
    assert guard.paused("nobody4999", "10.19.249.1") > 0
