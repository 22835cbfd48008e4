"""A report's period as operators write it: `2026-11` (a month), `2026-Q4` (a quarter), `2026` (a
year); its bounds are midnights in Vietnam's time, the end excluded."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from hopthu.errors import HopThuError
from hopthu.policy.dates import VIETNAM

_FORM = re.compile(r"(\d{4})(?:-(?:(0[1-9]|1[0-2])|[Qq]([1-4])))?")


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # as given, normalised: 2026-11, 2026-Q4, 2026
    start: dt.datetime
    end: dt.datetime

    @property
    def vi(self) -> str:
        year, _, part = self.label.partition("-")
        if not part:
            return f"năm {year}"
        if part.startswith("Q"):
            return f"quý {part[1]} năm {year}"
        return f"tháng {int(part)} năm {year}"


def parse_period(text: str) -> Period:
    found = _FORM.fullmatch(text.strip())
    if found is None:
        raise HopThuError(
            f"Kỳ báo cáo “{text}” không hợp lệ: ghi 2026-11 (tháng), 2026-Q4 (quý) hoặc 2026 (năm)",
            f"Invalid period “{text}”: write 2026-11 (a month), 2026-Q4 (a quarter) or 2026 (a year)",
        )
    year = int(found[1])
    if found[2]:
        first, months, label = int(found[2]), 1, f"{year}-{found[2]}"
    elif found[3]:
        first, months, label = 3 * int(found[3]) - 2, 3, f"{year}-Q{found[3]}"
    else:
        first, months, label = 1, 12, str(year)
    after = first + months
    start = dt.datetime(year, first, 1, tzinfo=VIETNAM)
    end = dt.datetime(year + (after - 1) // 12, (after - 1) % 12 + 1, 1, tzinfo=VIETNAM)
    return Period(label, start, end)
