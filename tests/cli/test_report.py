"""`hopthu report` (R9.3, R9.7): the periodic report written by the real command line."""

from __future__ import annotations

import datetime as dt

import openpyxl

from hopthu.reports.period import VIETNAM
from tests.cli.conftest import Cli


def test_report_on_the_command_line(cli: Cli) -> None:
    cli.init()
    cli("agency", "add", "--name", "Sở Nội vụ")
    cli("account", "add", "--family", "Nguyễn", "--middle", "Văn", "--given", "Minh", "--agency", "sonv")
    year = dt.datetime.now(VIETNAM).year
    target = cli.data / "q.xlsx"
    done = cli("report", "--period", f"{year}", "--format", "xlsx", "--output", str(target))
    assert done.code == 0, done.err
    sheet = openpyxl.load_workbook(target)["Theo cơ quan"]
    total = [cell.value for cell in sheet[sheet.max_row]]
    assert total[1] == "Toàn thành phố" and total[2] == 5  # quantri, hotro, sokhcn, sonv, nvminh: active
    assert cli("report", "--period", f"{year}-Q9").code != 0
    pdf = cli(
        "report",
        "--period",
        f"{year}",
        "--format",
        "pdf",
        "--agency",
        "sonv",
        "--output",
        str(cli.data / "s.pdf"),
    )
    assert pdf.code == 0 and (cli.data / "s.pdf").read_bytes().startswith(b"%PDF-")
