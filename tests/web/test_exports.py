"""Names inside an exported zip and cells of an exported CSV (`web/exports.py`): whatever text a
user or a sender chose, a name stays inside the archive and a cell never runs as a formula."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hopthu.web.exports import PART_MAX, EntryNames, csv_cell, safe_part


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("../../../tmp/x", "tmp/x"),
        ("/etc", "etc"),
        ("C:\\Windows\\System32", "C Windows System32"),
        ("a/./b/../c", "a/b/c"),
        ("...", ""),
        (" . ", ""),
        ("CON/aux.txt", "_CON/_aux.txt"),
        ("Hộp thư đến/Công văn", "Hộp thư đến/Công văn"),
        ("x\u202egpj\x00\x1b[31m", "xgpj[31m"),
    ],
)
def test_folder_paths(folder: str, expected: str) -> None:
    assert EntryNames().folder(folder) == expected


def test_entries_are_unique_bounded_and_keep_their_extension() -> None:
    names = EntryNames()
    place = names.folder("a:b")
    same = names.folder("a b")
    assert place == same == "a b"
    first = names.entry(place, "00001 Báo cáo.eml")
    second = names.entry(same, "00001 Báo cáo.eml")
    third = names.entry(place, "00001 báo cáo.eml")
    assert (first, second, third) == (
        "a b/00001 Báo cáo.eml",
        "a b/00001 Báo cáo (2).eml",
        "a b/00001 báo cáo (3).eml",
    )
    long = names.entry("", "x" * 1000 + ".eml")
    assert long.endswith(".eml") and len(long) <= PART_MAX + 4
    assert names.entry("", "..") == "_"


@given(st.text(max_size=300), st.text(max_size=300))
def test_no_name_escapes(folder: str, file_name: str) -> None:
    names = EntryNames()
    entry = names.entry(names.folder(folder), file_name)
    parts = entry.split("/")
    assert not entry.startswith("/") and "\\" not in entry and ":" not in entry
    assert all(part and part not in (".", "..") and part.strip(" .") == part for part in parts)
    assert all(ch.isprintable() for ch in entry) and len(entry) <= 16 * (PART_MAX + 1) + 24


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("lý do", "lý do"),
        ("", ""),
        (-5, -5),
    ],
)
def test_csv_cells(cell: object, expected: object) -> None:
    assert csv_cell(cell) == expected


def test_safe_part_is_bounded() -> None:
    assert len(safe_part("é" * 500)) == PART_MAX
