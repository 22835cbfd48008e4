"""R13.7 old addresses per person, in the directory: recorded, removed and listed with the audit log;
a list (.xlsx or .csv) creates the people's mailboxes by R4 (a taken base gets the next number) and
records each old address; bad rows are named by line in both languages and change nothing."""

from __future__ import annotations

import io

import openpyxl
import pytest

from hopthu.directory import formerimport
from hopthu.directory.formerimport import FormerRow
from hopthu.directory.people import PersonRow
from hopthu.directory.service import Directory
from hopthu.errors import Conflict, HopThuError, NotFound

HEADERS = ("Địa chỉ cũ", "Họ", "Tên đệm", "Tên", "Mã cơ quan", "Cấp bậc", "Địa chỉ mới (nếu đã có)")


@pytest.fixture
async def seeded(directory: Directory) -> Directory:
    await directory.agencies.add("Sở Nội vụ", actor="test")
    await directory.people.register([PersonRow("Nguyễn", "Văn", "Minh", "sonv")], actor="test")
    return directory


def _xlsx(*rows: tuple) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_r13_7_add_remove_list_audited(seeded: Directory) -> None:
    former = seeded.former
    made = await former.add(" NVMinh@SocTrang.gov.vn ", "nvminh@cantho.gov.vn", actor="ops", reason="hồ sơ")
    assert (made.address, made.local, made.agency, made.source) == (
        "nvminh@soctrang.gov.vn",
        "nvminh",
        "sonv",
        "manual",
    )
    with pytest.raises(Conflict) as twice:
        await former.add("nvminh@soctrang.gov.vn", "nvminh", actor="ops")
    assert "đã được ghi" in twice.value.vi and "already recorded" in twice.value.en
    with pytest.raises(HopThuError) as elsewhere:
        await former.add("nvminh@gmail.com", "nvminh", actor="ops")
    assert "tỉnh cũ" in elsewhere.value.vi and "former province" in elsewhere.value.en
    for bad in ("nvminh", "@soctrang.gov.vn", "a..b@soctrang.gov.vn", "x" * 65 + "@soctrang.gov.vn"):
        with pytest.raises(HopThuError):
            await former.add(bad, "nvminh", actor="ops")
    with pytest.raises(NotFound):
        await former.add("nvminh@haugiang.gov.vn", "khongco", actor="ops")
    assert [f.address for f in await former.list(agency_code="sonv")] == ["nvminh@soctrang.gov.vn"]
    assert await former.list(agency_code="soyt") == []
    assert [f.address for f in await former.list(search="soctr")] == ["nvminh@soctrang.gov.vn"]
    assert await former.list(search="100%_") == []  # the search's wildcards are the operator's letters
    await former.remove("NVMinh@soctrang.gov.vn", actor="ops")
    assert await former.find("nvminh@soctrang.gov.vn") is None
    with pytest.raises(NotFound):
        await former.remove("nvminh@soctrang.gov.vn", actor="ops")
    actions = [(e.action, e.details) for e in await seeded.accounts.history("nvminh")]
    assert ("former_address.added", {"former_address": "nvminh@soctrang.gov.vn", "how": "manual"}) in actions
    assert ("former_address.removed", {"former_address": "nvminh@soctrang.gov.vn"}) in actions


async def test_r13_7_import_creates_by_r4_and_maps(seeded: Directory) -> None:
    """A list from the former provinces: a Nguyễn Văn Minh of Sóc Trăng gets nvminh1 (nvminh is taken),
    one already here keeps his mailbox, another gets the address an administrator chose."""
    data = _xlsx(
        ("nvminh@soctrang.gov.vn", "Nguyễn", "Văn", "Minh", "sonv", 1, None),
        ("minh.nv@haugiang.gov.vn", None, None, None, None, None, "nvminh@cantho.gov.vn"),
        ("lthoa@haugiang.gov.vn", "Lê", "Thị", "Hoa", "sonv", None, "hoalt"),
    )
    rows = formerimport.read_rows(data, "ds.xlsx")
    preview = await seeded.former_import.plan(rows)
    assert [(r.address, r.created, r.error) for r in preview] == [
        ("nvminh1", True, None),
        ("nvminh", False, None),
        ("hoalt", True, None),
    ]
    assert await seeded.former.list() == []  # a preview changes nothing
    results = await seeded.former_import.run(rows, actor="ops")
    assert [(r.address, r.created, r.error) for r in results] == [
        ("nvminh1", True, None),
        ("nvminh", False, None),
        ("hoalt", True, None),
    ]
    assert (
        results[0].temporary_password and results[2].temporary_password and not results[1].temporary_password
    )
    assert {(f.address, f.local, f.source) for f in await seeded.former.list()} == {
        ("nvminh@soctrang.gov.vn", "nvminh1", "import"),
        ("minh.nv@haugiang.gov.vn", "nvminh", "import"),
        ("lthoa@haugiang.gov.vn", "hoalt", "import"),
    }
    created = await seeded.accounts.get("nvminh1")
    assert created.display_name.startswith("Nguyễn Văn Minh") and created.kind == "personal"


async def test_r13_7_bad_rows_named_by_line_in_both_languages(seeded: Directory) -> None:
    await seeded.former.add("nvminh@soctrang.gov.vn", "nvminh", actor="ops")
    text = (
        "Địa chỉ cũ,Họ,Tên đệm,Tên,Mã cơ quan,Cấp bậc,Địa chỉ mới\r\n"
        "nvminh@soctrang.gov.vn,Nguyễn,Văn,Minh,sonv,,\r\n"  # 2: recorded already
        "ttb@gmail.com,Trần,,Bình,sonv,,\r\n"  # 3: not a former province's
        "ttb@haugiang.gov.vn,Trần,,Bình,sonv,,\r\n"  # 4: good
        "TTB@HauGiang.gov.vn,Trần,,Bình,sonv,,\r\n"  # 5: repeats line 4
        "vana@soctrang.gov.vn,Võ,,,sonv,,\r\n"  # 6: no given name
        "vanb@soctrang.gov.vn,Võ,,An,khongco,,\r\n"  # 7: no such agency
        "vanc@soctrang.gov.vn,,,,,,khongco\r\n"  # 8: no such mailbox, and no person to create
        "vand@soctrang.gov.vn,Võ,,Dũng,sonv,cao,\r\n"  # 9: rank not a number
        "nvminh@soctrang.gov.vn,Nguyễn,Văn,Minh,sonv,0,\r\n"  # 10: the same as line 2
    ).encode()
    rows = formerimport.read_rows(text, "ds.csv")
    results = await seeded.former_import.run(rows, actor="ops")
    errors = {r.row.line: r.error for r in results}
    assert errors[4] is None and results[2].address == "tbinh"
    for line in (2, 3, 5, 6, 7, 8, 9, 10):
        assert errors[line] and errors[line].startswith(f"Dòng {line}: ") and " / " in errors[line], (
            line,
            errors,
        )
    assert "đã được ghi" in errors[2] and "already recorded" in errors[2]
    assert "tỉnh cũ" in errors[3] and "former province" in errors[3]
    assert "trùng với dòng 4" in errors[5] and "repeats line 4" in errors[5]
    assert "agency" in errors[7].lower()
    assert "no mailbox" in errors[8]
    assert [f.address for f in await seeded.former.list()] == [
        "nvminh@soctrang.gov.vn",
        "ttb@haugiang.gov.vn",
    ]
    with pytest.raises(NotFound):  # a bad row created nothing
        await seeded.accounts.get("vtan")


def test_r13_7_list_bounds_and_columns() -> None:
    with pytest.raises(formerimport.TooLarge):
        formerimport.read_rows(b"x" * (formerimport.MAX_BYTES + 1), "ds.csv")
    with pytest.raises(HopThuError) as missing:
        formerimport.read_rows("Họ,Tên\r\nNguyễn,Minh\r\n".encode(), "ds.csv")
    assert "Địa chỉ cũ" in missing.value.vi and "old address" in missing.value.en
    with pytest.raises(HopThuError):
        formerimport.read_rows(b"\xff\xfe", "ds.csv")
    with pytest.raises(HopThuError):
        formerimport.read_rows(b"not a workbook", "ds.xlsx")
    with pytest.raises(HopThuError):
        formerimport.read_rows(b"x", "ds.ods")
    many = "Địa chỉ cũ\r\n" + "".join(f"a{i}@soctrang.gov.vn\r\n" for i in range(formerimport.MAX_ROWS + 1))
    with pytest.raises(formerimport.TooLarge):
        formerimport.read_rows(many.encode(), "ds.csv")
    # The templates read back as one example row, which an import refuses.
    for fmt in ("csv", "xlsx"):
        (row,) = formerimport.read_rows(formerimport.template(fmt), f"mau.{fmt}")
        assert row == FormerRow(
            line=2,
            old="nvminh@soctrang.gov.vn",
            family="Nguyễn",
            middle="Văn",
            given="Minh",
            agency="sonv",
            rank="0",
            job_title="Chuyên viên",
            note=formerimport.EXAMPLE_NOTE,
        )


def test_r13_7_settings_checked_at_start(tmp_path) -> None:
    from hopthu.config import load_settings

    assert load_settings(tmp_path, {}).former.signin_last_day is None
    until = load_settings(tmp_path, {"HOPTHU_FORMER_SIGNIN_UNTIL": "2027-06-30"}).former.signin_last_day
    assert until is not None and until.isoformat() == "2027-06-30"
    for environ, key in (
        ({"HOPTHU_FORMER_SIGNIN_UNTIL": "30/06/2027"}, "former.signin_until"),
        ({"HOPTHU_SMTP_FLAT_DOMAIN_ALIASES": "soctrang.gov.vn"}, "smtp.flat_domain_aliases"),
        ({"HOPTHU_SMTP_DOMAIN_ALIASES": "cantho.gov.vn"}, "smtp.domain_aliases"),
        ({"HOPTHU_FORMER_NOTICE_DAYS": "0"}, "former.notice_days"),
    ):
        with pytest.raises(HopThuError) as refused:
            load_settings(tmp_path, environ)
        assert key in refused.value.vi and key in refused.value.en, environ


async def test_r13_7_senders_told_are_forgotten_after_one_period(seeded: Directory) -> None:
    """The notice record keeps one period: an older record no longer holds a notice back, so the
    purge changes nothing anyone is told, and the table does not grow with the years."""
    import datetime as dt

    from hopthu.directory import former

    db = seeded.ctx.store.db
    now = dt.datetime(2027, 3, 1, 8, tzinfo=dt.UTC)
    month = dt.timedelta(days=30)
    assert await former.first_notice(db, "a@example.org", "nvminh@soctrang.gov.vn", now - 2 * month, month)
    assert await former.first_notice(db, "b@example.org", "nvminh@soctrang.gov.vn", now - month / 6, month)
    assert await former.forget_notices(db, now - month) == 1
    assert await former.forget_notices(db, now - month) == 0
    assert await former.first_notice(db, "a@example.org", "nvminh@soctrang.gov.vn", now, month)  # due anyway
    assert not await former.first_notice(db, "b@example.org", "nvminh@soctrang.gov.vn", now, month)  # kept
