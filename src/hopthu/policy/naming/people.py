"""Personal addresses (R4.3a, R4.3b) and display names (R4.4).

The base address is the initial of every word of the family name and of each middle name, then the
whole given name, folded to ASCII: Nguyễn Văn Minh → `nvminh`, Trần Thị Ngọc Ánh → `ttnanh`, Lê Minh
→ `lminh`. Characters other than a-z after folding (apostrophes, hyphens) are dropped. A digit in a
name is refused: names carry none, and a base ending in a digit would make the numbered forms of
R4.3b ambiguous (`nvminh1` + `1`).

Namesakes (R4.3b) are people sharing one base. The first keeps the base, later ones get 1, 2, ...
appended in order of registration; on one day the higher leadership rank goes first. Counting starts
with the first holder, so with the default limit of 3 `nvminh`, `nvminh1`, `nvminh2` are automatic and
the fourth namesake, or any urgent request, gets proposals for an administrator instead.
"""

import datetime as dt
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from hopthu.errors import HopThuError
from hopthu.policy.naming.address import MAX_LENGTH, Namespace, is_issuable
from hopthu.text import fold, words

MAX_BASE_LENGTH: Final = MAX_LENGTH - 4
"""A longer base is refused, so that namesake numbers up to 9999 still fit in 64 characters."""

_NUMBERED: Final = re.compile(r"([a-z]+)([0-9]*)")


@dataclass(frozen=True)
class _Name:
    """A person's name as folded ASCII words, split as the request gives it (R4.3a)."""

    family: tuple[str, ...]
    middle: tuple[str, ...]
    given: tuple[str, ...]

    @property
    def base(self) -> str:
        return _initials(self.family + self.middle) + "".join(self.given)

    def longer_forms(self) -> list[str]:
        """Forms that add more of the name: whole family name, whole middle names, both."""
        family, middle, given = "".join(self.family), "".join(self.middle), "".join(self.given)
        return [
            family + _initials(self.middle) + given,
            _initials(self.family) + middle + given,
            family + middle + given,
        ]


def _initials(name_words: tuple[str, ...]) -> str:
    return "".join(word[0] for word in name_words)


def _fold_words(part: str, field_vi: str, field_en: str) -> tuple[str, ...]:
    folded_words = []
    for word in words(part):
        folded = fold(word)
        if any(ch.isdigit() for ch in folded):
            raise HopThuError(
                f"{field_vi} “{part.strip()}” có chữ số; họ tên không được chứa chữ số.",
                f"The {field_en} “{part.strip()}” contains a digit; names carry none.",
                code="name_invalid",
            )
        kept = "".join(ch for ch in folded if "a" <= ch <= "z")
        if kept:
            folded_words.append(kept)
    return tuple(folded_words)


def _parse_name(family: str, middle: str, given: str) -> _Name:
    name = _Name(
        family=_fold_words(family, "Họ", "family name"),
        middle=_fold_words(middle, "Tên đệm", "middle name"),
        given=_fold_words(given, "Tên", "given name"),
    )
    if not name.family or not name.given:
        raise HopThuError(
            "Thiếu họ hoặc tên (cần chữ cái): yêu cầu cấp hộp thư phải ghi riêng họ, tên đệm và tên.",
            "The family or given name is missing (letters needed): a request gives family, middle"
            " and given name separately.",
            code="name_invalid",
        )
    if len(name.base) > MAX_BASE_LENGTH:
        raise HopThuError(
            f"Họ tên quá dài để tạo địa chỉ (tối đa {MAX_BASE_LENGTH} ký tự sau khi viết tắt).",
            f"The name is too long for an address (at most {MAX_BASE_LENGTH} characters abbreviated).",
            code="name_invalid",
        )
    return name


def person_base(family: str, middle: str, given: str) -> str:
    """The base address of R4.3a: `Nguyễn`, `Văn`, `Minh` → `nvminh`. Refuses an unusable name."""
    return _parse_name(family, middle, given).base


def display_name(family: str, middle: str, given: str, agency_name: str) -> str:
    """The display name of R4.4: `Nguyễn Văn Minh (Sở Nội vụ)`, single spaces, NFC."""
    full = " ".join(words(unicodedata.normalize("NFC", f"{family} {middle} {given}")))
    agency = " ".join(words(unicodedata.normalize("NFC", agency_name)))
    if not full or not agency:
        raise HopThuError(
            "Tên hiển thị cần đủ họ tên và tên cơ quan, đơn vị.",
            "A display name needs the full name and the agency's name.",
            code="name_invalid",
        )
    return f"{full} ({agency})"


@dataclass(frozen=True, kw_only=True)
class PersonRequest:
    """One person to receive a mailbox: the name in separate fields (R4.3a) and what orders namesakes.

    `date` is the day of registration in the city's time zone (a `datetime` is refused: R4.3b orders
    by day, then by `rank`, larger meaning higher leadership). `key` is the caller's handle for the
    row (a spreadsheet row, a request id). `urgent` marks a request for an urgent task, which R4.3b
    sends to an administrator. The name is checked on construction, so a bad row fails alone.
    """

    family: str
    middle: str
    given: str
    date: dt.date
    rank: int = 0
    key: object = None
    urgent: bool = False
    base: str = field(init=False, compare=False)
    """The base address of the name (R4.3a), computed once."""
    _name: _Name = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.date, dt.datetime):
            raise TypeError("PersonRequest.date is a day (datetime.date), not a datetime")
        name = _parse_name(self.family, self.middle, self.given)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "base", name.base)

    def longer_forms(self) -> list[str]:
        """Forms of the name longer than the base, in proposal order (see `assign_people`)."""
        return self._name.longer_forms()


class AssignmentReason(StrEnum):
    """Why a request got its address, or why it waits for an administrator (R4.3b)."""

    BASE = "base"
    NUMBERED = "numbered"
    NAMESAKE_LIMIT = "namesake_limit"
    URGENT = "urgent"

    @property
    def vi(self) -> str:
        return _REASON_TEXT[self][0]

    @property
    def en(self) -> str:
        return _REASON_TEXT[self][1]


_REASON_TEXT: Final = {
    AssignmentReason.BASE: ("Cấp địa chỉ gốc theo họ tên.", "Given the base address of the name."),
    AssignmentReason.NUMBERED: (
        "Trùng họ tên với người đã có hộp thư: thêm số thứ tự.",
        "Shares the base with earlier registrants: a number is appended.",
    ),
    AssignmentReason.NAMESAKE_LIMIT: (
        "Người trùng tên thứ tư trở đi: quản trị viên chọn địa chỉ trong các đề xuất.",
        "Fourth or later namesake: an administrator chooses among the proposals.",
    ),
    AssignmentReason.URGENT: (
        "Nhiệm vụ khẩn cấp: quản trị viên chọn địa chỉ trong các đề xuất.",
        "Urgent task: an administrator chooses among the proposals.",
    ),
}


@dataclass(frozen=True)
class Assignment:
    """The outcome for one request: an `address` assigned automatically, or `proposals` to choose from.

    `position` is the request's place among everyone sharing its base (1 = the first holder).
    """

    request: PersonRequest
    position: int
    reason: AssignmentReason
    address: str | None = None
    proposals: tuple[str, ...] = ()

    @property
    def needs_administrator(self) -> bool:
        return self.address is None


def assign_people(
    requests: Sequence[PersonRequest], taken: Set[str], *, automatic_limit: int = 3
) -> list[Assignment]:
    """Decide addresses for a batch of people (R4.3b), one `Assignment` per request, in input order.

    Requests are served by registration day, then rank (higher first), then input order. Namesakes
    already in `taken` (an address equal to the base or the base followed by digits) count before the
    batch, and each request sees the earlier ones. The first `automatic_limit` holders of a base are
    assigned the first free of `base`, `base1`, `base2`, ...; later ones and urgent requests get
    proposals, in this order:

    1. the next free numbered form (what the automatic rule would have given), then forms that add
       more of the name:
    2. the whole family name: `nguyenvminh`;
    3. the whole middle names: `nvanminh`;
    4. the whole name: `nguyenvanminh`.

    Taken, reserved and repeated forms are left out, and no address is offered twice in one batch,
    so an operator may accept every row's first proposal at once. Claim what is settled in a
    `Namespace` before deciding the next batch. Nothing is ever proposed with a dot: the dot belongs
    to sub-unit addresses (R4.2).
    """
    if automatic_limit < 1:
        raise ValueError("automatic_limit must be at least 1")
    holders = _count_holders({request.base for request in requests}, taken)
    pending = Namespace(taken)
    results: dict[int, Assignment] = {}
    for index in sorted(range(len(requests)), key=lambda i: _service_order(requests, i)):
        request = requests[index]
        holders[request.base] += 1
        position = holders[request.base]
        slot = _first_free_slot(request.base, pending)
        if request.urgent or position > automatic_limit:
            proposals = []
            for candidate in [slot, *request.longer_forms()]:
                if is_issuable(candidate, pending):
                    pending.claim(candidate)
                    proposals.append(candidate)
            reason = AssignmentReason.URGENT if request.urgent else AssignmentReason.NAMESAKE_LIMIT
            results[index] = Assignment(request, position, reason, proposals=tuple(proposals))
        else:
            pending.claim(slot)
            reason = AssignmentReason.BASE if slot == request.base else AssignmentReason.NUMBERED
            results[index] = Assignment(request, position, reason, address=slot)
    return [results[index] for index in range(len(requests))]


def _service_order(requests: Sequence[PersonRequest], index: int) -> tuple[dt.date, int, int]:
    request = requests[index]
    return request.date, -request.rank, index


def _count_holders(bases: set[str], taken: Set[str]) -> Counter[str]:
    holders: Counter[str] = Counter()
    for local in taken:
        match = _NUMBERED.fullmatch(local)
        if match and match[1] in bases:
            holders[match[1]] += 1
    return holders


def _slots(base: str) -> Iterator[str]:
    yield base
    for number in itertools.count(1):
        candidate = f"{base}{number}"
        if len(candidate) > MAX_LENGTH:
            return
        yield candidate


def _first_free_slot(base: str, unavailable: Set[str]) -> str:
    for candidate in _slots(base):
        if is_issuable(candidate, unavailable):
            return candidate
    raise HopThuError(
        f"Không còn địa chỉ trống cho “{base}”: quản trị viên cần đặt địa chỉ khác.",
        f"No free address is left for “{base}”: an administrator must choose another.",
        code="address_exhausted",
    )
