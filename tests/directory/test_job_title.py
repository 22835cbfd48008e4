"""A person's job title (chức vụ): cleaned and bounded the same way from every surface, read from a
list's "Chức vụ" / "title" column, kept on the account, changed by an operator with an audit event
that moves the address book's version, and shown in the personal-data record. Both backends."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from hopthu.directory import book, jobtitle
from hopthu.directory.listfile import TEMPLATE_HEADERS, people_from_csv, people_from_xlsx, template_xlsx
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError

TOO_LONG = "Phó Trưởng phòng " * 7  # 119 characters once the last space is gone


@pytest.fixture
async def sonv(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    return directory


def test_clean_drops_controls_and_collapses_space() -> None:
    assert jobtitle.clean("  Phó\tTrưởng\u200b  phòng\x07\n") == "Phó Trưởng phòng"
    assert jobtitle.clean("Gia\u0301m đốc") == "Giám đốc"  # composed: the same title however typed
    assert jobtitle.clean("   ") is None and jobtitle.clean(None) is None
    assert jobtitle.clean("x" * jobtitle.MAX_LENGTH) == "x" * jobtitle.MAX_LENGTH


def test_a_title_too_long_is_refused_in_both_languages() -> None:
    with pytest.raises(HopThuError) as refused:
        jobtitle.clean(TOO_LONG)
    assert "Chức vụ dài 118 ký tự, quá 100" in refused.value.vi
    assert "job title is 118 characters long, more than the 100" in refused.value.en

    with pytest.raises(HopThuError) as refused:
        jobtitle.clean("x" * 10_000_000)  # refused before it is read character by character
    assert "10000000" in refused.value.en


def test_a_rank_number_in_the_title_column_is_refused_saying_where_it_goes() -> None:
    """Lists made before titles were kept had the rank under "Chức vụ": a number is never a title."""
    with pytest.raises(HopThuError) as refused:
        jobtitle.clean(" 2 ")
    assert "cột “Cấp bậc”" in refused.value.vi and "rank" in refused.value.en
    assert jobtitle.clean("Chuyên viên 2") == "Chuyên viên 2"


def test_list_columns_in_vietnamese_and_english() -> None:
    vietnamese = "Họ,Tên đệm,Tên,Mã cơ quan,Cấp bậc,Chức vụ\nNguyễn,Văn,Minh,sonv,2,  Phó  Giám đốc \n"
    (row,) = people_from_csv(vietnamese.encode())
    assert (row.rank, row.job_title, row.problem) == (2, "Phó Giám đốc", None)
    english = f"family,given,agency,title\nLê,Nam,sonv,Chuyên viên\nTrần,Ánh,sonv,{TOO_LONG}\n"
    first, second = people_from_csv(english.encode())
    assert first.job_title == "Chuyên viên" and first.problem is None
    assert second.problem and "Dòng 3" in second.problem
    assert "quá 100 ký tự" in second.problem and "more than the 100 allowed" in second.problem
    (untitled,) = people_from_csv("ho,ten,co quan\nVõ,Hoa,sonv\n".encode())
    assert untitled.job_title is None  # the column is optional


def test_the_template_offers_the_column_and_reads_back() -> None:
    assert "Chức vụ" in TEMPLATE_HEADERS
    workbook = load_workbook(io.BytesIO(template_xlsx("sonv")))
    sheet = workbook["Danh sách"]
    sheet.append(["Nguyễn", "Văn", "Minh", "sonv", 1, None, "Trưởng phòng"])
    out = io.BytesIO()
    workbook.save(out)
    (row,) = people_from_xlsx(out.getvalue())
    assert row.job_title == "Trưởng phòng"
    guide = [line[0] for line in workbook["Hướng dẫn"].iter_rows(values_only=True)]
    assert "Chức vụ" in guide


async def test_registered_with_a_title_and_changed_by_an_operator(sonv: Directory) -> None:
    rows = [
        PersonRow("Nguyễn", "Văn", "Minh", "sonv", rank=2, job_title="Phó Giám đốc"),
        PersonRow("Trần", "Thị", "Ánh", "sonv", job_title=TOO_LONG),
    ]
    done, refused = await sonv.people.register(rows, actor="test")
    assert done.address == "nvminh" and refused.address is None
    assert refused.error and "100" in refused.error  # the row changed nothing
    assert (await sonv.accounts.get("nvminh")).job_title == "Phó Giám đốc"
    created = [e for e in await sonv.accounts.history("nvminh") if e.action == "account.created"]
    assert created[0].details["job_title"] == "Phó Giám đốc"

    before = await book.version(sonv.ctx.store.db)
    changed = await sonv.accounts.set_job_title(
        "nvminh", " Giám  đốc ", actor="ttnanh", reason="QĐ 12/QĐ-UBND"
    )
    assert changed.job_title == "Giám đốc"
    assert await book.version(sonv.ctx.store.db) > before  # the CardDAV snapshot is rebuilt
    (event,) = [e for e in await sonv.accounts.history("nvminh") if e.action == "account.title_changed"]
    assert (event.actor, event.reason) == ("ttnanh", "QĐ 12/QĐ-UBND")
    assert event.details == {"from": "Phó Giám đốc", "to": "Giám đốc"}
    (entry,) = (await book.people(sonv.ctx.store.db, query="nguyen van minh")).entries
    assert entry.job_title == "Giám đốc"

    with pytest.raises(HopThuError, match="more than the 100"):
        await sonv.accounts.set_job_title("nvminh", TOO_LONG, actor="ttnanh")
    assert (await sonv.accounts.get("nvminh")).job_title == "Giám đốc"  # unchanged
    unchanged = await book.version(sonv.ctx.store.db)
    await sonv.accounts.set_job_title("nvminh", "Giám đốc", actor="ttnanh")  # the same: no event
    assert await book.version(sonv.ctx.store.db) == unchanged
    cleared = await sonv.accounts.set_job_title("nvminh", "", actor="ttnanh")
    assert cleared.job_title is None
    with pytest.raises(HopThuError, match="personal mailbox"):
        await sonv.accounts.set_job_title("sonv", "Giám đốc", actor="ttnanh")


async def test_the_personal_data_record_lists_the_title(sonv: Directory) -> None:
    await sonv.people.register([PersonRow("Lê", "Hoàng", "Nam", "sonv", job_title="Chuyên viên")], actor="t")
    found = await sonv.accounts.get("lhnam")
    record = await sonv.personal_data.record(found)
    assert record["account"]["job_title"] == "Chuyên viên"


def test_the_former_provinces_list_reads_the_title_too() -> None:
    from hopthu.directory import formerimport

    listing = "Địa chỉ cũ,Họ,Tên,Mã cơ quan,Chức vụ\nnvminh@soctrang.gov.vn,Nguyễn,Minh,sonv,Trưởng phòng\n"
    (row,) = formerimport.read_rows(listing.encode(), "ds.csv")
    assert row.job_title == "Trưởng phòng"
    (person,) = formerimport._people([formerimport.ImportResult(row)])
    assert person.job_title == "Trưởng phòng"
