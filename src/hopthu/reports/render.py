"""A report written out: an .xlsx workbook (a summary sheet for the city, a sheet with a line per
agency and a total) or a PDF of the same tables, both in Vietnamese. The PDF uses DejaVu Sans, the
font Debian installs with `fonts-dejavu-core`, which has every Vietnamese letter.
"""

from __future__ import annotations

import io
from pathlib import Path

from hopthu.errors import HopThuError
from hopthu.policy.quota import format_size
from hopthu.reports.gather import COLUMNS, Report
from hopthu.reports.period import VIETNAM
from hopthu.sheets import text_only

HEADINGS = {
    "active": "Đang hoạt động",
    "locked": "Tạm khóa",
    "revoked": "Thu hồi",
    "deleted": "Hủy bỏ",
    "created": "Cấp mới trong kỳ",
    "locked_in_period": "Khóa trong kỳ",
    "restored": "Khôi phục trong kỳ",
    "revoked_in_period": "Thu hồi trong kỳ",
    "deleted_in_period": "Hủy bỏ trong kỳ",
    "password_resets": "Cấp lại mật khẩu",
    "requests_filed": "Yêu cầu đã gửi",
    "requests_approved": "Yêu cầu được duyệt",
    "requests_rejected": "Yêu cầu bị từ chối",
    "mail_received": "Thư nhận",
    "mail_sent": "Thư gửi",
    "spam_refused": "Thư rác bị từ chối",
    "spam_junk": "Thư rác vào Thư rác",
    "malware_refused": "Thư có mã độc bị từ chối",
    "dangerous_refused": "Thư có tệp nguy hiểm bị từ chối",
    "held_outbound": "Thư gửi đi bị giữ lại",
    "used_bytes": "Dung lượng đã dùng",
}
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


def headings() -> list[str]:
    """One heading per column of `COLUMNS`."""
    return [HEADINGS[column] for column in COLUMNS]


def title(report: Report) -> str:
    return f"Báo cáo hệ thống thư điện tử thành phố Cần Thơ, {report.period.vi}"


def _made(report: Report) -> str:
    return report.made_at.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def states_note(report: Report) -> str:
    """Which moment the mailboxes' states are from."""
    if report.as_of is not None:
        return f"số hộp thư theo trạng thái tính đến hết ngày {report.as_of.strftime('%d/%m/%Y')}"
    return "số hộp thư theo trạng thái tính tại thời điểm lập"


def xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = "Tổng hợp"
    summary.append([title(report)])
    summary["A1"].font = Font(bold=True, size=13)
    summary.append([f"Lập lúc {_made(report)} (giờ Việt Nam); {states_note(report)}."])
    summary.append([])
    city = report.city
    for heading, column in zip(headings(), COLUMNS, strict=True):
        summary.append([heading, city[column]])
    summary.column_dimensions["A"].width = 28
    lines = book.create_sheet("Theo cơ quan")
    lines.append(["Mã", "Cơ quan, đơn vị", *headings()])
    for cell in lines[1]:
        cell.font = Font(bold=True)
    for line in report.lines:
        lines.append([line.code, line.name, *(line.figures[c] for c in COLUMNS)])
    lines.append(["", "Toàn thành phố", *(city[c] for c in COLUMNS)])
    for cell in lines[lines.max_row]:
        cell.font = Font(bold=True)
    lines.column_dimensions["B"].width = 40
    out = io.BytesIO()
    text_only(book).save(out)
    return out.getvalue()


def _font() -> tuple[Path, Path]:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    raise HopThuError(
        "Thiếu phông chữ DejaVu để tạo PDF: cài gói fonts-dejavu-core",
        "The DejaVu font needed for PDF is missing: install the fonts-dejavu-core package",
        code="config",
    )


def pdf(report: Report) -> bytes:
    from fpdf import FPDF

    regular, bold = _font()
    document = FPDF(orientation="L", format="A4")
    document.add_font("DejaVu", "", str(regular))
    document.add_font("DejaVu", "B", str(bold))
    document.set_title(title(report))
    document.add_page()
    document.set_font("DejaVu", "B", 13)
    document.multi_cell(0, 7, title(report), new_x="LMARGIN", new_y="NEXT")
    document.set_font("DejaVu", "", 9)
    document.multi_cell(
        0,
        5,
        f"Lập lúc {_made(report)} (giờ Việt Nam); {states_note(report)}.",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    document.ln(2)
    city = report.city
    with document.table(col_widths=(70, 30), text_align=("LEFT", "RIGHT"), width=100, align="LEFT") as table:
        for heading, column in zip(headings(), COLUMNS, strict=True):
            table.row([heading, _cell(column, city[column])])
    document.add_page()
    document.set_font("DejaVu", "B", 11)
    document.cell(0, 7, "Theo cơ quan, đơn vị", new_x="LMARGIN", new_y="NEXT")
    document.set_font("DejaVu", "", 5.5)
    widths = (40, *([17] * len(COLUMNS)))
    with document.table(col_widths=widths, text_align=("LEFT", *(["RIGHT"] * len(COLUMNS)))) as table:
        table.row(["Cơ quan, đơn vị", *headings()])
        for line in report.lines:
            table.row([line.name, *(_cell(c, line.figures[c]) for c in COLUMNS)])
        table.row(["Toàn thành phố", *(_cell(c, city[c]) for c in COLUMNS)])
    return bytes(document.output())


def _cell(column: str, value: int) -> str:
    return format_size(value) if column == "used_bytes" else str(value)
