"""A person's job title (chức vụ: "Giám đốc", "Phó Trưởng phòng", "Chuyên viên") as the directory keeps
it: free text, shown in the address book and as its vCards' TITLE, and no part of any rule (the
leadership order of R4.3b is the numeric rank).

Whatever surface it comes from (a list, a form, the API), it is cleaned the same way: control and
format characters dropped, white space collapsed, Unicode composed; empty means no title; longer
than `MAX_LENGTH` is refused in both languages rather than cut, and so is a bare number (a rank put
in the title's column, as lists made before titles were kept did).
"""

from __future__ import annotations

import unicodedata
from typing import Final

from hopthu.errors import HopThuError

MAX_LENGTH: Final = 100  # the column's width (store.schema.account.job_title)


class TitleIsANumber(HopThuError):
    def __init__(self, title: str) -> None:
        super().__init__(
            f"Chức vụ “{title}” là một con số: cấp bậc lãnh đạo ghi ở cột “Cấp bậc”, chức vụ ghi bằng chữ "
            "(ví dụ: Giám đốc, Chuyên viên)",
            f"The job title “{title}” is a number: the leadership rank goes in the “Cấp bậc” (rank) column, "
            "the title in words (for example: Giám đốc, Chuyên viên)",
        )


class TitleTooLong(HopThuError):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"Chức vụ dài {length} ký tự, quá {MAX_LENGTH} ký tự cho phép",
            f"The job title is {length} characters long, more than the {MAX_LENGTH} allowed",
        )


def clean(text: str | None) -> str | None:
    """The title to store, or None for none; refuses one longer than `MAX_LENGTH`."""
    if text is None:
        return None
    if len(text) > 4 * MAX_LENGTH:  # not walked character by character: it cannot clean to the bound
        raise TitleTooLong(len(text))
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in unicodedata.normalize("NFC", text)
        if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )
    title = " ".join(kept.split())
    if len(title) > MAX_LENGTH:
        raise TitleTooLong(len(title))
    if title.isdigit():
        # Lists made before titles were kept had the rank under "Chức vụ"; a number is never a title.
        raise TitleIsANumber(title)
    return title or None
