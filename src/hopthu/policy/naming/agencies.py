"""Agency and sub-unit addresses (R4.1, R4.2): the system proposes, an administrator confirms.

An agency's name is read as words (punctuation separates words and is dropped) and abbreviated:

- a trailing mention of the city itself (`thành phố Cần Thơ`, `thành phố`, `Cần Thơ`, `tỉnh …`) is
  left out: every agency on the domain belongs to the city;
- a commune-level place, that is a unit word (`phường`, `xã`, `đặc khu`, and the former `thị trấn`,
  `thị xã`, `quận`, `huyện`) followed by a capitalised name or a number, is written whole, because
  initials would collide (Vĩnh Lợi, Vĩnh Long): `Xã Phong Điền` → `xaphongdien`,
  `Ủy ban nhân dân xã Phong Điền` → `ubndxaphongdien`; `xã hội` is not a place;
- what comes before it is written whole when it has at most two words (`Thanh tra` → `thanhtra`, as
  the regulation's `vanphong`), otherwise by initials (`Ủy ban nhân dân` → `ubnd`); `và`, `các`,
  `của` are dropped, numbers and acronyms (`HĐND`) are kept whole;
- `Sở` is kept whole before the initials of the rest, as in the regulation's example (`sonv`).

Proposals come in this order, leaving out the taken, reserved and repeated ones: the abbreviation
(`sonv`); the distinctive form with every word whole (`songoaivu`, R4.1's example); the same with the
city mention kept (`baocantho` for `Báo Cần Thơ`); only if none of those is free, the abbreviation
numbered from 2 (`sonv2`). Measured on `data/cantho-agencies.csv`, the first proposal reproduces
every agency code there (119 of 119; see tests/policy/test_naming_agencies.py).

A sub-unit's address is `<part>.<agency>` (R4.2). The leading `Phòng` of its name is dropped (the
address says what it is part of) and the rest is abbreviated as above: `Văn phòng` → `vanphong`,
`Phòng Hành chính - Tổ chức` → `hctc`. The part the agency asked for comes first when it is free.
"""

import itertools
import unicodedata
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from typing import Final

from hopthu.errors import HopThuError
from hopthu.policy.naming.address import MAX_LENGTH, is_issuable, is_well_formed
from hopthu.text import fold

_DEPARTMENT: Final = "sở"
_SUBUNIT_TYPE: Final = "phòng"
_DROPPED: Final = frozenset({"và", "các", "của"})
_PLACE_UNITS: Final = (
    ("đặc", "khu"),
    ("thị", "trấn"),
    ("thị", "xã"),
    ("phường",),
    ("xã",),
    ("quận",),
    ("huyện",),
)


@dataclass(frozen=True)
class _Word:
    text: str
    """The word as written, NFC."""

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def ascii(self) -> str:
        return "".join(ch for ch in fold(self.text) if ch.isascii() and ch.isalnum())

    def initial(self, acronyms: bool) -> str:
        if self.ascii.isdigit() or (acronyms and len(self.text) > 1 and self.text.isupper()):
            return self.ascii
        return self.ascii[0]


def _words(name: str) -> list[_Word]:
    """Words of `name`: runs of letters, marks and digits; everything else separates and is dropped."""
    found: list[_Word] = []
    for is_word, run in itertools.groupby(
        unicodedata.normalize("NFC", name), key=lambda ch: unicodedata.category(ch)[0] in "LMN"
    ):
        word = _Word("".join(run))
        if is_word and word.ascii:
            found.append(word)
    return found


def _has_acronyms(name_words: Sequence[_Word]) -> bool:
    """Whether words in capitals are acronyms: not in a name written all in capitals (`SỞ NỘI VỤ`)."""
    return not all(word.text.isupper() for word in name_words)


def _whole(name_words: Sequence[_Word]) -> str:
    return "".join(word.ascii for word in name_words if word.lower not in _DROPPED)


def _short(name_words: Sequence[_Word], acronyms: bool) -> str:
    if len(name_words) > 1 and name_words[0].lower == _DEPARTMENT:
        return "so" + "".join(w.initial(acronyms) for w in name_words[1:] if w.lower not in _DROPPED)
    content = [word for word in name_words if word.lower not in _DROPPED]
    if len(content) <= 2:
        return _whole(content)
    return "".join(word.initial(acronyms) for word in content)


@dataclass(frozen=True)
class _AgencyName:
    """An agency's name cut into the part to abbreviate, the place kept whole and the city mention."""

    head: list[_Word]
    place: list[_Word]
    city: list[_Word]
    acronyms: bool

    @classmethod
    def read(cls, name: str, city: str) -> "_AgencyName":
        found = _words(name)
        if not found:
            raise HopThuError(
                f"Tên cơ quan, đơn vị “{name}” không có chữ để tạo địa chỉ.",
                f"The agency name “{name}” has no letters to make an address from.",
                code="name_invalid",
            )
        cut = len(found) - _city_mention_length(found, city)
        body, city_words = found[:cut], found[cut:]
        start = _place_start(body)
        return cls(body[:start], body[start:], city_words, _has_acronyms(found))

    def abbreviation(self) -> str:
        return _short(self.head, self.acronyms) + _whole(self.place)

    def distinctive(self) -> str:
        return _whole(self.head) + _whole(self.place)


def _city_mention_length(found: Sequence[_Word], city: str) -> int:
    """How many trailing words only say the city (`thành phố Cần Thơ`), leaving at least one word."""
    city_ascii = tuple(fold(city).split())
    mentions = [
        ("thanh", "pho", *city_ascii),
        ("tinh", *city_ascii),
        ("tp", *city_ascii),
        ("thanh", "pho"),
        city_ascii,
    ]
    tail = [word.ascii for word in found]
    for mention in sorted(mentions, key=len, reverse=True):
        if mention and len(mention) < len(tail) and tuple(tail[-len(mention) :]) == mention:
            return len(mention)
    return 0


def _place_start(found: Sequence[_Word]) -> int:
    """Where a commune-level place (`xã Phong Điền`) starts in `found`, or len(found) if none does."""
    for start in range(len(found)):
        for unit in _PLACE_UNITS:
            end = start + len(unit)
            if tuple(word.lower for word in found[start:end]) == unit and end < len(found):
                following = found[end].text
                if following[0].isupper() or following.isdigit():
                    return start
    return len(found)


def agency_proposals(name: str, taken: Set[str], *, city: str = "Cần Thơ") -> list[str]:
    """Free addresses for an agency (R4.1), best first: `Sở Nội vụ` → `['sonv', 'sonoivu']`.

    `city` is the city or province whose mention in a name is left out (a setting, not a rule).
    """
    agency = _AgencyName.read(name, city)
    distinctive = agency.distinctive()
    forms = [agency.abbreviation(), distinctive, distinctive + _whole(agency.city)]
    return _proposals(forms, taken, numbered_stem=agency.abbreviation())


def subunit_proposals(
    subunit_name: str, agency_local: str, taken: Set[str], *, requested: str | None = None
) -> list[str]:
    """Free addresses for a sub-unit (R4.2): `Văn phòng`, `sonv` → `['vanphong.sonv', ...]`.

    `requested` is the part the agency asked for (`hcth`); it comes first when it is free.
    """
    if not is_well_formed(agency_local) or "." in agency_local:
        raise HopThuError(
            f"Địa chỉ cơ quan “{agency_local}” không hợp lệ.",
            f"The agency address “{agency_local}” is malformed.",
            code="address_malformed",
        )
    found = _words(subunit_name)
    if not found:
        raise HopThuError(
            f"Tên phòng, ban “{subunit_name}” không có chữ để tạo địa chỉ.",
            f"The sub-unit name “{subunit_name}” has no letters to make an address from.",
            code="name_invalid",
        )
    if len(found) > 1 and found[0].lower == _SUBUNIT_TYPE:
        found = found[1:]
    short = _short(found, _has_acronyms(found))
    parts = [_requested_part(requested)] if requested is not None else []
    parts += [short, _whole(found)]
    suffix = f".{agency_local}"
    return _proposals([part + suffix for part in parts], taken, numbered_stem=short, suffix=suffix)


def _requested_part(requested: str) -> str:
    part = fold(requested).strip()
    if not part.isascii() or not part.isalnum():
        raise HopThuError(
            f"Tên viết tắt đề nghị “{requested}” chỉ được gồm chữ không dấu và chữ số.",
            f"The requested short name “{requested}” may only hold letters a-z and digits.",
            code="address_malformed",
        )
    return part


def _proposals(forms: Iterable[str], taken: Set[str], *, numbered_stem: str, suffix: str = "") -> list[str]:
    """The free forms in order, or else the first free numbered form (`sonv2`); refuse if none is."""
    proposals = [form for form in dict.fromkeys(forms) if is_issuable(form, taken)]
    if not proposals:
        for number in itertools.count(2):
            candidate = f"{numbered_stem}{number}{suffix}"
            if len(candidate) > MAX_LENGTH:
                break
            if is_issuable(candidate, taken):
                proposals.append(candidate)
                break
    if not proposals:
        raise HopThuError(
            "Không tạo được địa chỉ từ tên này (quá dài hoặc đã dùng hết): quản trị viên cần đặt địa chỉ.",
            "No address can be made from this name (too long or all taken): an administrator must"
            " choose one.",
            code="address_exhausted",
        )
    return proposals
