"""Secrecy markings in outgoing mail (R8.1): state secrets never travel by this system.

The levels are those of the Law on Protection of State Secrets: MẬT, TỐI MẬT, TUYỆT MẬT. A level
counts as a marking only where it stands as a stamp, never where it is an everyday word:

1. after the label `Độ mật:` (or `-`): `ĐỘ MẬT: TỐI MẬT`, `Độ mật: Mật`, `Do mat: tuyet mat`;
2. in brackets: `[MẬT]`, `(Tối mật)`, `«MẬT»`;
3. alone on its line, decoration aside: `MẬT`, `Mật`, `*** TUYỆT MẬT ***`;
4. in capitals, set apart from its neighbours: `TỐI MẬT - Kế hoạch`, `Gửi tài liệu MẬT về...`.
   A neighbour joined by a space sets it apart only if it is not in capitals too (`ĐỔI MẬT KHẨU`
   is a heading) and does not make an everyday compound (`quên MẬT khẩu`, `bảo MẬT`).

Except after the label, a level is spelled with its own diacritics in any case (`mật`, not `mặt`,
`mất`, `mát`; so `MẶT TRẬN` is the Front, not a stamp) or in capitals without any (`TUYET MAT`).
So `mật khẩu` (password), `mật độ` (density), `mật mã`, `mật ong`, `thân mật`, `bí mật`, `bảo mật` never
match, and neither does prose that merely names a level (`tài liệu tối mật phải được bảo vệ`, `các độ
mật gồm: Tuyệt mật, Tối mật và Mật`): a mail about the rules must not be held, a stamp must be found.

Attached documents are read for the same stamps (`find_in_document`, their text extracted by
`protection.doctext`). A document whose text cannot be read (encrypted, broken, too slow to read)
is sent and logged, not refused: this check catches a stamped document sent by mistake; it cannot
prove a file holds no secret (a scanned page has no text either), and refusing every unreadable
file would stop ordinary work without stopping anyone who means to break the rule.
"""

import re
import unicodedata
from dataclasses import dataclass, replace
from enum import Enum, StrEnum
from typing import Final, Literal

from hopthu.errors import HopThuError
from hopthu.text import fold


class SecrecyLevel(Enum):
    """A level of state secret, least to most secret; `value` is how it is written."""

    MAT = ("mật",)
    TOI_MAT = ("tối", "mật")
    TUYET_MAT = ("tuyệt", "mật")

    @property
    def vi(self) -> str:
        return " ".join(self.value).upper()


class MarkingForm(StrEnum):
    LABEL = "label"
    BRACKETED = "bracketed"
    ALONE = "alone"
    CAPITALS = "capitals"


@dataclass(frozen=True)
class Marking:
    """A secrecy marking found: its level, the form it stands in, and where (line 1 is the first)."""

    level: SecrecyLevel
    form: MarkingForm
    where: Literal["subject", "body", "attachment"]
    line: int
    text: str
    file: str = ""  # the attached document's name, for where == "attachment"


_LONGEST_FIRST: Final = (SecrecyLevel.TUYET_MAT, SecrecyLevel.TOI_MAT, SecrecyLevel.MAT)
_WORD: Final = re.compile(r"[^\W_]+")
_LABEL_MARKS: Final = frozenset({":", "-", "–", "—"})
_OPENING: Final = frozenset("[(«【")
_CLOSING: Final = frozenset("])»】")
_COMPOUND_BEFORE: Final = frozenset({"bí", "thân", "bảo", "cơ", "giải"})
_COMPOUND_AFTER: Final = frozenset({"khẩu", "mã", "độ", "ong", "danh", "vụ", "thám", "thiết", "ngọt"})
_ASCII_BEFORE: Final = frozenset(fold(word) for word in _COMPOUND_BEFORE)
_ASCII_AFTER: Final = frozenset(fold(word) for word in _COMPOUND_AFTER)


def find_secrecy_markings(subject: str, body_text: str) -> list[Marking]:
    """Every secrecy marking in the subject and the plain-text body, in reading order."""
    return _scan(subject, "subject") + _scan(body_text, "body")


def find_in_document(name: str, text: str) -> list[Marking]:
    """Every secrecy marking in an attached document's text (a paragraph or cell per line)."""
    return [replace(marking, file=name) for marking in _scan(text, "attachment")]


def _scan(text: str, where: Literal["subject", "body", "attachment"]) -> list[Marking]:
    markings = []
    for number, line in enumerate(unicodedata.normalize("NFC", text).splitlines(), start=1):
        if "mat" in fold(line):
            markings += [
                Marking(level, form, where, number, found) for level, form, found in _scan_line(line)
            ]
    return markings


def _scan_line(line: str) -> list[tuple[SecrecyLevel, MarkingForm, str]]:
    tokens = list(_WORD.finditer(line))
    found = []
    start = 0
    while start < len(tokens):
        for level in _LONGEST_FIRST:
            end = start + len(level.value)
            form = _form(line, tokens, start, end, level) if end <= len(tokens) else None
            if form is not None:
                found.append((level, form, line[tokens[start].start() : tokens[end - 1].end()]))
                start = end
                break
        else:
            start += 1
    return found


def _form(
    line: str, tokens: list[re.Match[str]], start: int, end: int, level: SecrecyLevel
) -> MarkingForm | None:
    """The form in which the words tokens[start:end] stand as `level`, or None if they do not."""
    words = [token[0] for token in tokens[start:end]]
    if [fold(word) for word in words] != [fold(word) for word in level.value]:
        return None
    before = line[tokens[start - 1].end() if start else 0 : tokens[start].start()]
    after = line[tokens[end - 1].end() : tokens[end].start() if end < len(tokens) else len(line)]
    labelled = start >= 2 and [fold(t[0]) for t in tokens[start - 2 : start]] == ["do", "mat"]
    if labelled and before.strip() in _LABEL_MARKS:
        return MarkingForm.LABEL
    if not all(_spelled(word, expected) for word, expected in zip(words, level.value, strict=True)):
        return None
    if before.rstrip()[-1:] in _OPENING and after.lstrip()[:1] in _CLOSING:
        return MarkingForm.BRACKETED
    if start == 0 and end == len(tokens):
        return MarkingForm.ALONE
    if all(word.isupper() for word in words) and _set_apart(tokens, start, end, before, after):
        return MarkingForm.CAPITALS
    return None


def _spelled(word: str, expected: str) -> bool:
    """`word` is `expected` with its diacritics (any case), or in capitals without any (`MAT`)."""
    return word.lower() == expected or (word.isascii() and word.isupper() and word.lower() == fold(expected))


def _set_apart(tokens: list[re.Match[str]], start: int, end: int, before: str, after: str) -> bool:
    left = tokens[start - 1][0] if start and not before.strip() else None
    right = tokens[end][0] if end < len(tokens) and not after.strip() else None
    return _loose(left, _COMPOUND_BEFORE, _ASCII_BEFORE) and _loose(right, _COMPOUND_AFTER, _ASCII_AFTER)


def _loose(neighbour: str | None, compounds: frozenset[str], ascii_compounds: frozenset[str]) -> bool:
    """Whether a neighbour joined by a space leaves the level apart (None: no joined neighbour)."""
    if neighbour is None:
        return True
    if neighbour.isupper():
        return False
    lowered = neighbour.lower()
    return lowered not in compounds and not (neighbour.isascii() and lowered in ascii_compounds)


def secrecy_refusal(markings: list[Marking]) -> HopThuError:
    """The refusal for mail carrying `markings` (at least one), explained in Vietnamese and English."""
    if not markings:
        raise ValueError("a refusal needs at least one marking")
    places_vi = ", ".join(f"“{m.text}” ({_place_vi(m)})" for m in markings)
    places_en = ", ".join(f"“{m.text}” ({_place_en(m)})" for m in markings)
    return HopThuError(
        f"Thư chưa được gửi: có dấu độ mật {places_vi}. Theo Điều 8 của Quy chế quản lý, sử dụng hệ thống"
        " thư điện tử, không gửi văn bản, tài liệu thuộc danh mục bí mật nhà nước qua thư điện tử."
        " Nếu thư không chứa bí mật nhà nước, hãy bỏ dấu độ mật rồi gửi lại.",
        f"The message was not sent: it carries the secrecy marking {places_en}. Article 8 of the"
        " e-mail regulation forbids sending state-secret documents by e-mail. If the message holds no"
        " state secret, remove the marking and send it again.",
        code="secrecy_marking",
    )


def _place_vi(marking: Marking) -> str:
    if marking.where == "attachment":
        return f"tệp đính kèm {marking.file}, dòng {marking.line}"
    return "tiêu đề" if marking.where == "subject" else f"nội dung, dòng {marking.line}"


def _place_en(marking: Marking) -> str:
    if marking.where == "attachment":
        return f"attached file {marking.file}, line {marking.line}"
    return "subject" if marking.where == "subject" else f"body, line {marking.line}"
