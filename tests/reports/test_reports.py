"""Periodic reports (R9.3, R9.7): the period's bounds, the figures per agency and for the city, and
the .xlsx and PDF written from them, on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import openpyxl
import pytest

from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.policy.lifecycle import Action
from hopthu.reports import render
from hopthu.reports.gather import COLUMNS, gather
from hopthu.reports.period import VIETNAM, parse_period
from hopthu.store.traffic import Traffic


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-11", dt.date(2026, 11, 1), dt.date(2026, 12, 1)),
        ("2026-q4", dt.date(2026, 10, 1), dt.date(2027, 1, 1)),
        ("2026-Q1", dt.date(2026, 1, 1), dt.date(2026, 4, 1)),
        ("2026", dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ],
)
def test_periods(text: str, start: dt.date, end: dt.date) -> None:
    period = parse_period(text)
    assert (period.start.date(), period.end.date()) == (start, end)
    assert period.start.utcoffset() == dt.timedelta(hours=7)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26", "2026-11-01", "quý 4"])
def test_bad_periods_are_explained(text: str) -> None:
    with pytest.raises(HopThuError, match="2026-Q4"):
        parse_period(text)


@pytest.fixture
async def city(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.agencies.add("Sở Y tế", actor="test")
    people = [PersonRow("Nguyễn", "Văn", "Minh", "sonv"), PersonRow("Lê", "Thị", "Hoa", "sonv")]
    people.append(PersonRow("Phạm", "Quốc", "Bảo", "soyt"))
    await directory.people.register(people, actor="test")
    await directory.accounts.change_status(
        "lthoa", Action.LOCK, reason="security_warning", ref="CV 1/CATP", actor="op"
    )
    await directory.accounts.reset_password("pqbao", actor="op")
    await directory.requests.file(
        "lock", {"address": "nvminh"}, agency_code="sonv", channel="portal", filed_by="m"
    )
    traffic = Traffic(directory.ctx.store.db, directory.ctx.clock)
    minh = (await directory.accounts.get("nvminh")).id
    await traffic.received([minh, minh])
    await traffic.sent(minh)
    await traffic.flush()
    return directory


async def test_figures_per_agency_and_for_the_city(city: Directory) -> None:
    now = city.ctx.now()
    period = parse_period(f"{now.astimezone(VIETNAM).year}")
    made = await gather(city.ctx.store.db, period, now=now)
    lines = {line.code: line.figures for line in made.lines}
    assert lines["sonv"]["active"] == 2 and lines["sonv"]["locked"] == 1  # nvminh, the agency box; lthoa
    assert lines["sonv"]["created"] == 3 and lines["sonv"]["locked_in_period"] == 1
    assert lines["sonv"]["requests_filed"] == 1 and lines["soyt"]["password_resets"] == 1
    assert (lines["sonv"]["mail_received"], lines["sonv"]["mail_sent"]) == (2, 1)
    assert made.city["created"] == 5 and made.city["active"] == 4
    elsewhere = await gather(city.ctx.store.db, parse_period("2019"), now=now)
    assert elsewhere.city["created"] == 0 and elsewhere.city["active"] == 4  # statuses are as of now
    only = await gather(city.ctx.store.db, period, now=now, within={(await city.agencies.get("soyt")).id})
    assert [line.code for line in only.lines] == ["soyt"]

    book = openpyxl.load_workbook(io.BytesIO(render.xlsx(made)))
    sheet = book["Theo cơ quan"]
    header = [cell.value for cell in sheet[1]]
    total = [cell.value for cell in sheet[sheet.max_row]]
    assert total[1] == "Toàn thành phố"
    for column, heading in zip(COLUMNS, render.headings(), strict=True):
        assert total[header.index(heading)] == made.city[column]
    document = render.pdf(made)
    assert document.startswith(b"%PDF-") and len(document) > 5_000


async def test_a_past_period_reports_the_states_of_its_last_day(city: Directory) -> None:
    """With the daily `statistics` job's pictures, a past month shows its own last day's states."""
    from types import SimpleNamespace

    from hopthu.jobs.base import JobContext
    from hopthu.jobs.rules import statistics

    db = city.ctx.store.db
    services = SimpleNamespace(store=city.ctx.store, settings=city.ctx.settings, directory=city)
    march = parse_period("2026-03")
    pictured = await statistics(JobContext(services, dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)))
    assert pictured == {"agencies": 2}
    await city.accounts.change_status("nvminh", Action.LOCK, reason="violation", ref=None, actor="op")
    then = await gather(db, march, now=city.ctx.now())
    assert then.as_of == dt.date(2026, 3, 31)
    assert {line.code: line.figures["locked"] for line in then.lines}["sonv"] == 1  # lthoa only, as then
    current = await gather(db, parse_period("2026-04"), now=city.ctx.now())
    assert (
        current.as_of is None and {line.code: line.figures["locked"] for line in current.lines}["sonv"] == 2
    )
    assert "tính đến hết ngày 31/03/2026" in render.states_note(then)


async def test_a_name_that_looks_like_a_formula_stays_text(city: Directory) -> None:
    """openpyxl makes a formula of any string starting with "=": the workbook keeps it as text."""
    now = city.ctx.now()
    made = await gather(city.ctx.store.db, parse_period(f"{now.astimezone(VIETNAM).year}"), now=now)
    hostile = '=HYPERLINK("http://example.org/x","Bấm vào đây")'
    first = dataclasses.replace(made.lines[0], name=hostile)
    made = dataclasses.replace(made, lines=[first, *made.lines[1:]])
    sheet = openpyxl.load_workbook(io.BytesIO(render.xlsx(made)))["Theo cơ quan"]
    cell = sheet.cell(row=2, column=2)
    assert (cell.value, cell.data_type) == (hostile, "s")
