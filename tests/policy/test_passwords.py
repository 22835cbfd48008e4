"""Password rules (R5.3) and forced changes (R5.2, R6.4b)."""

import datetime as dt
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopthu.errors import HopThuError
from hopthu.policy.passwords import (
    changed_before,
    check_password,
    expiry_warning_due,
    must_change_password,
    normalize_password,
    password_expires_at,
    password_problems,
    personal_words,
)

VN = dt.timezone(dt.timedelta(hours=7))


def codes(password: str, *, old: str | None = None, min_length: int = 8) -> list[str]:
    return [problem.code for problem in password_problems(password, old=old, min_length=min_length)]


@pytest.mark.parametrize(
    "password", ["Cantho@2025", "Đăng1234!", "Mật khẩu 9 chữ!", "aB3$aB3$", "Ăn#quả9nhớ"]
)
def test_r5_3_a_password_with_eight_characters_and_four_classes_is_accepted(password: str) -> None:
    """R5.3: at least 8 characters; uppercase, lowercase, digit and special."""
    assert password_problems(password) == []
    check_password(password)


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("aB3$aB3", ["too_short"]),
        ("cantho@2025", ["no_uppercase"]),
        ("CANTHO@2025", ["no_lowercase"]),
        ("Cantho@abcd", ["no_digit"]),
        ("Cantho2025", ["no_special"]),
        ("Cantho 2025", ["no_special"]),  # a space is allowed but is not a special character
        ("", ["too_short", "no_uppercase", "no_lowercase", "no_digit", "no_special"]),
        ("abc", ["too_short", "no_uppercase", "no_digit", "no_special"]),
    ],
)
def test_r5_3_each_missing_rule_is_named(password: str, missing: list[str]) -> None:
    """R5.3: the error names each missing rule."""
    assert codes(password) == missing


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("đăng1234!", ["no_uppercase"]),  # đ, ă are lowercase letters
        ("ĐĂNG1234!", ["no_lowercase"]),  # Đ, Ă are uppercase letters
        ("Ăăăăăăă1", ["no_special"]),
    ],
)
def test_r5_3_vietnamese_letters_count_as_letters(password: str, missing: list[str]) -> None:
    """R5.3: Ă, Đ, Ư are uppercase letters; ă, đ, ư lowercase; neither is a special character."""
    assert codes(password) == missing


def test_r5_3_length_is_counted_after_nfc() -> None:
    """R5.3: `Ă` typed as A + breve is one character, so seven NFC characters are too short."""
    seven = unicodedata.normalize("NFD", "Ăă1!Ăă1")
    assert len(seven) > 8
    assert codes(seven) == ["too_short"]
    assert normalize_password(seven) == "Ăă1!Ăă1"


def test_r5_3_the_message_lists_every_missing_rule_in_vietnamese_and_english() -> None:
    with pytest.raises(HopThuError) as refused:
        check_password("abc")
    error = refused.value
    assert error.code == "weak_password"
    for text in ["ít nhất 8 ký tự", "chữ in hoa", "chữ số", "ký tự đặc biệt"]:
        assert text in error.vi
    assert "chữ in thường" not in error.vi
    for text in ["at least 8 characters", "uppercase", "digit", "special"]:
        assert text in error.en


def test_r5_3_minimum_length_is_a_setting() -> None:
    assert codes("Cantho@2025", min_length=12) == ["too_short"]
    assert "12" in password_problems("Cantho@2025", min_length=12)[0].vi


def test_r5_3_control_characters_are_refused() -> None:
    assert codes("Cantho@2025\n") == ["control_character"]
    assert codes("Cantho\x002025@") == ["control_character"]


def test_r5_2_the_new_password_differs_from_the_old_one() -> None:
    """R5.2: changing a password means a different one (compared after NFC)."""
    old = unicodedata.normalize("NFD", "Ăn#quả9nhớ")
    assert codes("Ăn#quả9nhớ", old=old) == ["unchanged"]
    assert codes("Ăn#quả9nhớ!", old=old) == []


@given(st.text())
def test_r5_3_check_password_refuses_exactly_when_a_rule_is_missed(password: str) -> None:
    problems = password_problems(password)
    assert len({p.code for p in problems}) == len(problems)
    if problems:
        with pytest.raises(HopThuError):
            check_password(password)
    else:
        check_password(password)
        text = normalize_password(password)
        assert len(text) >= 8
        assert any(c.isupper() for c in text) and any(c.islower() for c in text)
        assert any(c.isdecimal() for c in text)


@pytest.mark.parametrize(
    ("changed", "expires"),
    [
        (dt.datetime(2025, 1, 31, 9, 0, tzinfo=VN), dt.datetime(2025, 4, 30, 9, 0, tzinfo=VN)),
        (dt.datetime(2023, 11, 30, 9, 0, tzinfo=VN), dt.datetime(2024, 2, 29, 9, 0, tzinfo=VN)),
        (dt.datetime(2024, 11, 30, 9, 0, tzinfo=VN), dt.datetime(2025, 2, 28, 9, 0, tzinfo=VN)),
        (dt.datetime(2025, 10, 15, 9, 0, tzinfo=VN), dt.datetime(2026, 1, 15, 9, 0, tzinfo=VN)),
    ],
)
def test_r5_2_a_password_expires_three_calendar_months_after_its_change(
    changed: dt.datetime, expires: dt.datetime
) -> None:
    """R5.2: every 3 calendar months; 30 November + 3 months is the end of February."""
    assert password_expires_at(changed) == expires


def test_r5_2_one_month_across_february() -> None:
    """R5.2: with a setting of 1 month, 31 January expires on 28 February (29 in a leap year)."""
    assert password_expires_at(dt.datetime(2025, 1, 31, tzinfo=VN), months=1) == dt.datetime(
        2025, 2, 28, tzinfo=VN
    )
    assert password_expires_at(dt.datetime(2024, 1, 31, tzinfo=VN), months=1) == dt.datetime(
        2024, 2, 29, tzinfo=VN
    )


def test_r6_4b_an_expired_password_must_be_changed_from_the_expiry_on() -> None:
    """R6.4b: unchanged for 3 months, the system requires a new password (not before)."""
    changed = dt.datetime(2025, 1, 31, 9, 0, tzinfo=VN)
    expiry = dt.datetime(2025, 4, 30, 9, 0, tzinfo=VN)
    assert not must_change_password(changed, False, expiry - dt.timedelta(seconds=1))
    assert must_change_password(changed, False, expiry)
    assert must_change_password(changed, False, expiry + dt.timedelta(days=400))


def test_r5_2_a_new_or_reset_password_must_be_changed_at_first_sign_in() -> None:
    """R5.2: the flag set on creation or reset forces the change whatever the date."""
    changed = dt.datetime(2025, 7, 1, 9, 0, tzinfo=VN)
    assert must_change_password(changed, True, changed)


def test_r5_2_the_owner_is_warned_14_7_and_1_days_before_expiry_the_nearest_once() -> None:
    """R5.2 decision: warnings 14, 7 and 1 days before; one whose day passed unsent is not sent late."""
    expires = dt.datetime(2025, 4, 30, 9, 0, tzinfo=VN)
    assert expiry_warning_due(expires, expires - dt.timedelta(days=14, seconds=1)) is None
    assert expiry_warning_due(expires, expires - dt.timedelta(days=14)) == 14
    assert expiry_warning_due(expires, expires - dt.timedelta(days=8)) == 14
    assert expiry_warning_due(expires, expires - dt.timedelta(days=7)) == 7
    assert expiry_warning_due(expires, expires - dt.timedelta(hours=1)) == 1
    assert expiry_warning_due(expires, expires - dt.timedelta(days=3), days_before=(30,)) == 30


def test_r5_2_changed_before_reads_the_expiry_backwards() -> None:
    """R5.2: a password changed before `changed_before(now)` has expired at `now`."""
    now = dt.datetime(2025, 4, 30, 9, 0, tzinfo=VN)
    assert changed_before(now) == dt.datetime(2025, 1, 30, 9, 0, tzinfo=VN)
    assert password_expires_at(changed_before(now) - dt.timedelta(seconds=1)) < now
    assert changed_before(now, months=1) == dt.datetime(2025, 3, 30, 9, 0, tzinfo=VN)


def test_the_names_a_password_may_not_contain() -> None:
    """The sign-in name from 3 letters, the name's words from 4, folded; Văn and Thị are too common."""
    assert personal_words("quantri", "Quản trị hệ thống") == ["quantri", "quan", "thong"]
    assert personal_words("nvminh", "Nguyễn Văn Minh") == ["nvminh", "nguyen", "minh"]
    assert personal_words("ab", "Lê Thị Hà") == []


@pytest.mark.parametrize(
    ("password", "local", "name"),
    [
        ("Quantri@2026", "quantri", "Quản trị"),
        ("Minh@2026!", "nvminh", "Nguyễn Văn Minh"),
        ("NGUYỄN#2026x", "nvminh", "Nguyễn Văn Minh"),
        ("x9!NVMinh", "nvminh", "Nguyễn Văn Minh"),
    ],
)
def test_a_password_with_the_persons_name_is_refused(password: str, local: str, name: str) -> None:
    with pytest.raises(HopThuError) as refused:
        check_password(password, personal=personal_words(local, name))
    assert "tên đăng nhập" in refused.value.vi and "sign-in name" in refused.value.en
    check_password("Hop-Thu-2026", personal=personal_words(local, name))
    check_password("Vanphong@26", personal=personal_words("nvminh", "Nguyễn Văn Minh"))
