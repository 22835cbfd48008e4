"""Password rules (R5.3) and the calendar of forced changes (R5.2, R6.4b).

A password has at least 8 characters and all four classes of the regulation: an uppercase letter, a
lowercase letter, a digit and a special character. Letters are Unicode letters, so `Ă`, `Đ`, `Ư` count
as uppercase and `ă`, `đ`, `ư` as lowercase; a digit is 0-9 (or another script's decimal digit); a
special character is anything else that is visible (punctuation, symbols; letters without case such
as Chinese count too). White space is allowed and counts as nothing. Control characters are refused:
they cannot be typed and cannot be sent in an IMAP quoted string. Lengths are counted after NFC
normalisation, and `normalize_password` is what the hasher must see (RFC 8265 §4.2 OpaqueString's
NFC rule), so `Ă` typed as one or as two code points is the same password.

A password must not contain the person's own sign-in name, nor a word of their name of four letters
or more (compared without case or diacritics): `Quantri@2026` for `quantri`, `Minh@2026` for Nguyễn
Văn Minh. Those are the first guesses of anyone who knows the address. Shorter words (Văn, Thị) are
left out, as directory services do, because they are part of too many ordinary words.

Expiry is 3 calendar months after the last change (31 January → 30 April). R6.4b's "lock" for an
unchanged password is met here, not by a lifecycle lock: the owner signs in and can only set a new
password, which a locked account could not do without an operator.
"""

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from hopthu.errors import HopThuError
from hopthu.policy.dates import add_months, warning_due
from hopthu.text import fold

PERSONAL_WORD: Final = 4
"""The shortest word of a person's name a password may not contain (the sign-in name counts from 3)."""
MIN_LENGTH: Final = 8
"""The regulation's minimum length (R5.3); a setting passes another."""
CHANGE_EVERY_MONTHS: Final = 3
"""The regulation's change period in calendar months (R5.2); a setting passes another."""
WARNING_DAYS: Final = (14, 7, 1)
"""Days before expiry on which the owner is warned by mail (R5.2 decision), the nearest one once."""


@dataclass(frozen=True)
class Problem:
    """One rule a password misses, named for the user in Vietnamese and English."""

    code: str
    vi: str
    en: str


def normalize_password(password: str) -> str:
    """The form to check, hash and compare: NFC, so one password typed on any device is one password."""
    return unicodedata.normalize("NFC", password)


def _is_special(ch: str) -> bool:
    return not (ch.isupper() or ch.islower() or ch.isdecimal() or ch.isspace()) and ch.isprintable()


_CLASSES: Final = (
    (Problem("no_uppercase", "cần có chữ in hoa", "needs an uppercase letter"), str.isupper),
    (Problem("no_lowercase", "cần có chữ in thường", "needs a lowercase letter"), str.islower),
    (Problem("no_digit", "cần có chữ số", "needs a digit"), str.isdecimal),
    (
        Problem(
            "no_special",
            "cần có ký tự đặc biệt (ví dụ ! @ # $ %)",
            "needs a special character (e.g. ! @ # $ %)",
        ),
        _is_special,
    ),
)
_CONTROL: Final = Problem(
    "control_character", "không được chứa ký tự điều khiển", "must not contain control characters"
)
_UNCHANGED: Final = Problem("unchanged", "phải khác mật khẩu cũ", "must differ from the old password")
_PERSONAL: Final = Problem(
    "personal",
    "không được chứa tên đăng nhập hay tên của bạn",
    "must not contain your sign-in name or your name",
)


def personal_words(local: str, display_name: str = "") -> list[str]:
    """What a password may not contain for this person, folded: the sign-in name (from 3 letters) and
    each word of the name from `PERSONAL_WORD` letters. The page's live checklist gets the same list."""
    found = [fold(local)] if len(local) >= 3 else []
    found += [word for word in fold(display_name).split() if len(word) >= PERSONAL_WORD and word.isalpha()]
    return list(dict.fromkeys(found))


def password_problems(
    password: str, *, old: str | None = None, min_length: int = MIN_LENGTH, personal: Sequence[str] = ()
) -> list[Problem]:
    """Every rule of R5.3 that `password` misses (empty when it is acceptable), in a fixed order.

    `old`, when the caller knows it, is the password being replaced; the same one again is refused.
    `personal` are the folded words of `personal_words` the password may not contain.
    """
    text = normalize_password(password)
    problems = []
    if len(text) < min_length:
        problems.append(
            Problem("too_short", f"cần ít nhất {min_length} ký tự", f"needs at least {min_length} characters")
        )
    problems += [problem for problem, member in _CLASSES if not any(member(ch) for ch in text)]
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        problems.append(_CONTROL)
    if old is not None and text == normalize_password(old):
        problems.append(_UNCHANGED)
    folded = fold(text)
    if any(word and word in folded for word in personal):
        problems.append(_PERSONAL)
    return problems


def check_password(
    password: str, *, old: str | None = None, min_length: int = MIN_LENGTH, personal: Sequence[str] = ()
) -> None:
    """Refuse a password that misses any rule of R5.3 or contains the person's name, naming every one
    it misses."""
    problems = password_problems(password, old=old, min_length=min_length, personal=personal)
    if problems:
        raise HopThuError(
            "Mật khẩu chưa đạt yêu cầu: " + "; ".join(problem.vi for problem in problems) + ".",
            "The password does not meet the rules: " + "; ".join(p.en for p in problems) + ".",
            code="weak_password",
        )


def password_expires_at(changed_at: dt.datetime, months: int = CHANGE_EVERY_MONTHS) -> dt.datetime:
    """When a password changed at `changed_at` must be changed again (R5.2): calendar months later."""
    return add_months(changed_at, months)


def changed_before(now: dt.datetime, months: int = CHANGE_EVERY_MONTHS) -> dt.datetime:
    """A password changed before this moment has expired at `now` (`password_expires_at`, read
    backwards for a query over every account)."""
    return add_months(now, -months)


def expiry_warning_due(
    expires_at: dt.datetime, now: dt.datetime, days_before: Sequence[int] = WARNING_DAYS
) -> int | None:
    """The warning (days before expiry) owed to the owner at `now`, or None when none is due yet
    (R5.2: the owner is told 14, 7 and 1 days before; see `dates.warning_due`)."""
    return warning_due(expires_at, now, days_before)


def must_change_password(
    changed_at: dt.datetime, must_change_flag: bool, now: dt.datetime, months: int = CHANGE_EVERY_MONTHS
) -> bool:
    """Whether only a password change may work now (R5.2): a new or reset password, or an expired one."""
    return must_change_flag or now >= password_expires_at(changed_at, months)
