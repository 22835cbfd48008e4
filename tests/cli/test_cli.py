"""The operators' command line end to end, as a subprocess, on both store backends."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli.conftest import Cli


def test_init_makes_data_folder_and_first_administrator(cli: Cli) -> None:
    made = cli.init().json()
    assert made["administrator"] == "quantri@cantho.gov.vn" and len(made["temporary_password"]) >= 8
    for name in ("hopthu.toml", "tls/cert.pem", "tls/key.pem"):
        assert (cli.data / name).is_file()
    assert oct((cli.data / "tls/key.pem").stat().st_mode & 0o777) == "0o600"
    again = cli("init")
    assert again.code == 1 and "đã được khởi tạo" in again.err
    admin = cli("account", "show", "quantri", "--json").json()
    assert admin["must_change_password"] and admin["agency"] == "sokhcn"


def test_commands_before_init_explain_what_to_do(cli: Cli) -> None:
    result = cli("agency", "list")
    assert result.code == 1 and "hopthu init" in result.err and len(result.err.strip().splitlines()) == 1


def test_agency_and_account_lifecycle(cli: Cli) -> None:
    cli.init()
    assert cli("agency", "add", "--name", "Sở Nội vụ").out.strip() == "Sở Nội vụ: sonv@cantho.gov.vn"
    assert cli("agency", "add", "--name", "Sở Ngoại vụ", "--json").json()["code"] == "songoaivu"
    sub = cli("agency", "add", "--name", "Văn phòng", "--parent", "sonv", "--json").json()
    assert sub["code"] == "vanphong.sonv" and sub["kind"] == "subunit"
    codes = [a["code"] for a in cli("agency", "list", "--json").json()]
    assert codes == ["sokhcn", "songoaivu", "sonv", "vanphong.sonv"]

    added = cli(
        "account", "add", "--family", "Nguyễn", "--middle", "Văn", "--given", "Minh", "--agency", "sonv"
    )
    assert added.code == 0 and "nvminh@cantho.gov.vn" in added.out
    temporary = added.out.strip().splitlines()[-1].rsplit(": ", 1)[1]

    changed = cli("account", "change-password", "nvminh", stdin=f"{temporary}\nHop-Thu-2026\n")
    assert changed.code == 0, changed.err
    weak = cli("account", "change-password", "nvminh", stdin="Hop-Thu-2026\nyeu\n")
    assert weak.code == 1 and "ít nhất 8 ký tự" in weak.err and "chữ số" in weak.err

    locked = cli("account", "lock", "nvminh", "--reason", "violation", "--note", "gửi thư rác")
    assert locked.code == 0 and "tạm khóa" in locked.out
    bad = cli("account", "restore", "nvminh", "--reason", "vì thích")
    assert bad.code == 1 and "lý do" in bad.err
    assert cli("account", "restore", "nvminh", "--reason", "requested", "--ref", "CV 5/SNV").code == 0

    assert cli("account", "quota", "nvminh", "2GB", "--json").json()["quota_bytes"] == 2 * 1024**3
    too_big = cli("account", "quota", "nvminh", "50GB")
    assert too_big.code == 1 and too_big.err.startswith("Lỗi:")

    reset = cli("account", "reset-password", "nvminh", "--json").json()
    shown = cli("account", "show", "nvminh@cantho.gov.vn", "--json").json()
    assert reset["temporary_password"] and shown["must_change_password"]
    actions = [h["action"] for h in shown["history"]]
    assert actions[:2] == ["account.password_reset", "account.quota_changed"]
    assert "account.locked" in actions and "account.restored" in actions

    listed = cli("account", "list", "--agency", "sonv", "--json").json()
    assert [a["address"] for a in listed] == ["nvminh@cantho.gov.vn", "sonv@cantho.gov.vn"]
    assert cli("account", "delete", "nvminh", "--reason", "left", "--ref", "QĐ 9/SNV").code == 0
    assert [a["address"] for a in cli("account", "list", "--status", "deleted", "--json").json()] == [
        "nvminh@cantho.gov.vn"
    ]


def test_r4_3b_fourth_namesake_needs_the_administrator(cli: Cli) -> None:
    cli.init()
    cli("agency", "add", "--name", "Sở Nội vụ")
    name = ["--family", "Nguyễn", "--middle", "Văn", "--given", "Minh", "--agency", "sonv"]
    assert [cli("account", "add", *name, "--json").json()["address"] for _ in range(3)] == [
        "nvminh",
        "nvminh1",
        "nvminh2",
    ]
    fourth = cli("account", "add", *name)
    assert fourth.code == 3 and "nvminh3@cantho.gov.vn" in fourth.err and "--address" in fourth.err
    chosen = cli("account", "add", *name, "--address", "nguyenvminh", "--json")
    assert chosen.code == 0 and chosen.json()["address"] == "nguyenvminh"


def test_import_csv_orders_same_day_by_rank_and_reports_bad_rows(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    cli("agency", "add", "--name", "Sở Nội vụ")
    listing = tmp_path / "danh-sach.csv"
    with listing.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Họ", "Tên đệm", "Tên", "Cơ quan", "Cấp bậc", "Ngày"])
        writer.writerow(["Nguyễn", "Văn", "Minh", "sonv", "1", "02/03/2026"])
        writer.writerow(["Nguyễn", "Võ", "Minh", "sonv", "9", "2026-03-02"])
        writer.writerow(["Trần", "Thị Ngọc", "Ánh", "khongco", "", ""])
        writer.writerow(["Lê", "", "Minh", "sonv", "mot", ""])
    result = cli("account", "import", str(listing), "--json")
    report = result.json()
    assert result.code == 1 and (report["created"], report["failed"]) == (2, 2)
    assert [r["address"] for r in report["rows"]] == ["nvminh1", "nvminh", None, None]
    assert "khongco" in report["rows"][2]["error"] and "Dòng 5" in report["rows"][3]["error"]
    assert cli("account", "show", "lminh").code == 1  # the failed row changed nothing


def test_import_xlsx(cli: Cli, tmp_path: Path) -> None:
    from openpyxl import Workbook

    cli.init()
    cli("agency", "add", "--name", "Sở Nội vụ")
    book = Workbook()
    sheet = book.active
    sheet.append(["family", "middle", "given", "agency", "rank"])
    sheet.append(["Trần", "Thị Ngọc", "Ánh", "sonv", 2])
    sheet.append(["Lê", None, "Minh", "sonv", None])
    book.save(tmp_path / "list.xlsx")
    result = cli("account", "import", str(tmp_path / "list.xlsx"))
    assert result.code == 0 and "ttnanh@cantho.gov.vn" in result.out and "lminh@cantho.gov.vn" in result.out


def test_bad_files_are_one_line_errors(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    (tmp_path / "x.txt").write_text("abc")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "cols.csv").write_text("name,agency\nA,sonv\n")
    for path, fragment in [
        ("missing.csv", "Không tìm thấy"),
        ("x.txt", ".csv"),
        ("empty.csv", "trống"),
        ("cols.csv", "Thiếu cột"),
    ]:
        result = cli("account", "import", str(tmp_path / path))
        assert result.code == 1 and fragment in result.err and len(result.err.strip().splitlines()) == 1


def test_job_titles_from_add_and_import(cli: Cli, tmp_path: Path) -> None:
    cli.init()
    cli("agency", "add", "--name", "Sở Nội vụ")
    name = ["--family", "Nguyễn", "--middle", "Văn", "--given", "Minh", "--agency", "sonv"]
    added = cli("account", "add", *name, "--title", " Phó  Giám đốc ", "--json")
    assert added.code == 0 and added.json()["job_title"] == "Phó Giám đốc"
    assert cli("account", "show", "nvminh", "--json").json()["job_title"] == "Phó Giám đốc"
    too_long = cli("account", "add", *name, "--title", "x" * 101)
    assert too_long.code == 1 and "quá 100 ký tự" in too_long.err and "more than the 100" in too_long.err
    listing = tmp_path / "danh-sach.csv"
    listing.write_text("ho,ten,co_quan,chuc_vu\nLê,Nam,sonv,Chuyên viên\n", encoding="utf-8")
    assert cli("account", "import", str(listing)).code == 0
    assert cli("account", "show", "lnam", "--json").json()["job_title"] == "Chuyên viên"
