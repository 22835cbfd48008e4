"""Moments as the pages write them (`web.moments`), and what a list names of a message's people and
files (`web.people`, `web.filekinds`): tables of values in, text out."""

from __future__ import annotations

import datetime as dt

import pytest

from hopthu.web.filekinds import file_kind
from hopthu.web.moments import full, short
from hopthu.web.people import author, recipients

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 3, 6, 53, tzinfo=UTC)  # 13:53 in Can Tho, a Thursday


@pytest.mark.parametrize(
    ("moment", "vi", "en"),
    [
        (dt.datetime(2026, 12, 2, 23, 39, tzinfo=UTC), "06:39", "06:39"),  # already the 3rd in the city
        (dt.datetime(2026, 12, 2, 16, 59, tzinfo=UTC), "02/12", "2 Dec"),  # 23:59 the day before
        (dt.datetime(2026, 1, 5, 1, 0, tzinfo=UTC), "05/01", "5 Jan"),
        (dt.datetime(2025, 12, 31, 17, 0, tzinfo=UTC), "01/01", "1 Jan"),  # new year in the city
        (dt.datetime(2025, 12, 31, 16, 0, tzinfo=UTC), "31/12/2025", "31 Dec 2025"),
    ],
)
def test_short_moments(moment: dt.datetime, vi: str, en: str) -> None:
    assert (short(moment, "vi", NOW), short(moment, "en", NOW)) == (vi, en)


def test_full_moments() -> None:
    moment = dt.datetime(2026, 12, 2, 23, 39, tzinfo=UTC)
    assert full(moment, "vi") == "Thứ Năm, 03/12/2026 06:39"
    assert full(moment, "en") == "Thu, 3 Dec 2026 06:39"
    assert full(dt.datetime(2026, 3, 8, 3, 0, tzinfo=UTC), "vi") == "Chủ Nhật, 08/03/2026 10:00"
    assert short(None) == full(None) == ""


def test_recipients_and_author() -> None:
    envelope = {
        "from": [["Nguyễn Văn Minh", None, "NVMinh", "cantho.gov.vn"]],
        "to": [
            ["=?utf-8?q?x?=", None, "ttnanh", "cantho.gov.vn", "Trần  Thị Ngọc Ánh"],
            [None, None, "a", "b.vn"],
        ],
        "cc": [[None, None, "nhom", None], ["Văn thư", None, "vt", "b.vn"], [None, None, None, None]],
        "bcc": [["Sơn", None, "s", "b.vn"]],
    }
    assert author(envelope) == "nvminh@cantho.gov.vn"
    assert recipients(envelope) == "Trần Thị Ngọc Ánh, a@b.vn +2"
    assert recipients({"to": [[None, None, "a", "b.vn"]]}) == "a@b.vn"
    assert author({}) == recipients({}) == ""


@pytest.mark.parametrize(
    ("content_type", "name", "key"),
    [
        ("application/pdf", None, "pdf"),
        ("APPLICATION/PDF", "x.bin", "pdf"),
        ("image/png", "scan", "image"),
        ("application/octet-stream", "Số liệu.XLSX", "sheet"),
        ("application/msword", "a", "word"),
        ("application/octet-stream", "ho-so.7z", "archive"),
        ("application/octet-stream", "README", "file"),
        ("application/x-unknown", "a.", "file"),
    ],
)
def test_file_kinds(content_type: str, name: str | None, key: str) -> None:
    assert file_kind(content_type, name).key == key
