"""Storage quotas and the attachment limit (R5.1).

Units are binary: 1 KB = 1024 bytes, 1 MB = 1024 KB, 1 GB = 1024 MB. The regulation writes "05GB",
"10GB", "20MB" without saying which; binary is what Outlook, Thunderbird and phones show and what IMAP
QUOTA counts in (RFC 9208 §5.1, units of 1024 octets), so a mailbox of "5 GB" shows as 5 GB in the
user's client, and of the two readings it is the one that gives users more room. `KiB`, `MiB`,
`GiB`, `TiB` are accepted as the same units; sizes are shown with the Vietnamese decimal comma
(`4,5 GB`) and, for English text, a point.

Usage and quotas are whole bytes. A mailbox warns its user as usage crosses each warning percentage
(default 80, 90, 95) and is full at 100 %: a full mailbox refuses new mail with a temporary error
(the mail rooms render it) and never drops mail silently.
"""

import re
from dataclasses import dataclass
from typing import Final

from hopthu.errors import HopThuError
from hopthu.policy.mailbox import MailboxKind

KB: Final = 1024
MB: Final = 1024 * KB
GB: Final = 1024 * MB
TB: Final = 1024 * GB

_UNITS: Final = {
    "": 1,
    "b": 1,
    "k": KB,
    "kb": KB,
    "kib": KB,
    "m": MB,
    "mb": MB,
    "mib": MB,
    "g": GB,
    "gb": GB,
    "gib": GB,
    "t": TB,
    "tb": TB,
    "tib": TB,
}
# Matched against stripped text of at most `_SIZE_LONGEST` characters: one white-space run only, so a
# hostile field cannot make it backtrack.
_SIZE: Final = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?\s*([a-z]*)", re.IGNORECASE)
_SIZE_LONGEST: Final = 64
_SHOWN: Final = ((TB, "TB"), (GB, "GB"), (MB, "MB"), (KB, "KB"))


@dataclass(frozen=True)
class QuotaRules:
    """The regulation's numbers as defaults; an administrator changes them globally (R5.1).

    A new mailbox gets the bound itself: a personal one `personal_max`, an agency one `agency_min`
    (R5.1: "at most 5 GB (default 5 GB)", "at least 10 GB (default 10 GB)").
    """

    personal_max: int = 5 * GB
    agency_min: int = 10 * GB
    attachment_max: int = 20 * MB
    warn_percents: tuple[int, ...] = (80, 90, 95)

    def __post_init__(self) -> None:
        if self.personal_max <= 0 or self.agency_min <= 0:
            raise _setting_error("dung lượng hộp thư phải lớn hơn 0", "mailbox quotas must be positive")
        if self.attachment_max <= 0:
            raise _setting_error(
                "giới hạn tệp đính kèm phải lớn hơn 0", "the attachment limit must be positive"
            )
        percents = self.warn_percents
        if any(not 0 < p < 100 for p in percents) or list(percents) != sorted(set(percents)):
            raise _setting_error(
                "các mức cảnh báo phải tăng dần, trong khoảng 1-99 %",
                "warning percentages must increase, each within 1-99",
            )


def _setting_error(vi: str, en: str) -> HopThuError:
    return HopThuError(
        f"Cấu hình dung lượng không hợp lệ: {vi}.", f"Invalid quota setting: {en}.", code="invalid_setting"
    )


def parse_size(text: str) -> int:
    """Bytes in `5GB`, `500 MB`, `20M`, `4,5 GB`, `1073741824`: binary units, rounded to a whole byte.

    A decimal needs a unit, and three or more decimals are refused: `1.024 MB` is a thousand and
    twenty-four to a Vietnamese reader and one point zero two four to an English one.
    """
    stripped = text.strip()
    match = _SIZE.fullmatch(stripped) if len(stripped) <= _SIZE_LONGEST else None
    unit = _UNITS.get(match[3].lower()) if match else None
    fraction = (match[2] or "") if match else ""
    if match is None or unit is None or len(fraction) > 2 or (fraction and unit == 1):
        raise HopThuError(
            f"Dung lượng “{text}” không hợp lệ: ghi số và đơn vị, ví dụ 5GB, 500MB, 4,5GB"
            " (tối đa hai chữ số thập phân).",
            f"Size “{text}” is not understood: write a number and a unit, e.g. 5GB, 500MB, 4.5GB"
            " (at most two decimals).",
            code="invalid_size",
        )
    hundredths = int(match[1]) * 100 + int(fraction.ljust(2, "0"))
    return (hundredths * unit + 50) // 100


def format_size(size: int, *, decimal_mark: str = ",") -> str:
    """`size` bytes for people: `4,5 GB`, `20 MB`, `512 B`.

    One decimal at most, rounded half up, in the largest unit that shows at least 1: 1023.96 MB is 1 GB.
    """
    if size < 0:
        raise ValueError("a size is never negative")
    for unit, label in _SHOWN:
        tenths = (size * 10 + unit // 2) // unit
        if tenths >= 10:
            whole, tenth = divmod(tenths, 10)
            return f"{whole} {label}" if tenth == 0 else f"{whole}{decimal_mark}{tenth} {label}"
    return f"{size} B"


def default_quota(kind: MailboxKind | str, rules: QuotaRules) -> int:
    """The quota a new mailbox of `kind` gets (R5.1)."""
    if MailboxKind(kind) is MailboxKind.PERSONAL:
        return rules.personal_max
    return rules.agency_min


def check_quota_setting(kind: MailboxKind | str, size: int, rules: QuotaRules) -> None:
    """Refuse a quota outside R5.1: a personal one at most the maximum, an agency one at least the minimum."""
    if MailboxKind(kind) is MailboxKind.PERSONAL:
        if not 0 < size <= rules.personal_max:
            raise HopThuError(
                f"Dung lượng hộp thư cá nhân phải lớn hơn 0 và tối đa {format_size(rules.personal_max)}"
                f" (đã nhập {format_size(max(size, 0))}).",
                f"A personal mailbox quota must be positive and at most"
                f" {format_size(rules.personal_max, decimal_mark='.')}"
                f" (got {format_size(max(size, 0), decimal_mark='.')}).",
                code="quota_out_of_range",
            )
    elif size < rules.agency_min:
        raise HopThuError(
            f"Dung lượng hộp thư cơ quan, đơn vị tối thiểu {format_size(rules.agency_min)}"
            f" (đã nhập {format_size(max(size, 0))}).",
            f"An agency mailbox quota must be at least {format_size(rules.agency_min, decimal_mark='.')}"
            f" (got {format_size(max(size, 0), decimal_mark='.')}).",
            code="quota_out_of_range",
        )


def fits(usage: int, quota: int, incoming: int) -> bool:
    """Whether a message of `incoming` bytes may be stored in a mailbox using `usage` of `quota`."""
    return usage + incoming <= quota


def reached_thresholds(usage: int, quota: int, rules: QuotaRules) -> list[int]:
    """The warning percentages (and 100, full) that a mailbox using `usage` of `quota` bytes has reached.

    A percentage p is reached when usage is at least p % of the quota: 4 GB of 5 GB reaches 80. The
    notices job warns once per level reached and lets a level warn again after usage went back under
    it; the account page shows a warning while any level is reached. A quota of 0 (none set) has no
    levels to reach.
    """
    if quota <= 0:
        return []
    return [p for p in (*rules.warn_percents, 100) if usage * 100 >= p * quota]


def check_attachments(total_attachment_bytes: int, rules: QuotaRules) -> None:
    """Refuse a message whose attached files, decoded, exceed the limit of R5.1 (default 20 MB)."""
    if total_attachment_bytes > rules.attachment_max:
        raise HopThuError(
            f"Tổng dung lượng tệp đính kèm ({format_size(total_attachment_bytes)}) vượt quá mức tối đa"
            f" {format_size(rules.attachment_max)} cho mỗi thư. Hãy nén tệp, chia thành nhiều thư hoặc"
            " chia sẻ qua đường liên kết.",
            f"The attached files ({format_size(total_attachment_bytes, decimal_mark='.')}) exceed the"
            f" limit of {format_size(rules.attachment_max, decimal_mark='.')} per message. Compress"
            " them, split them over several messages or share a link.",
            code="attachment_too_large",
        )
