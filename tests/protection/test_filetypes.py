"""Dangerous files (R13.2): by name, by content, inside zip and rar archives, nested, hidden; as
production finds them (`protection.filetypes` asking `policy.filetypes`)."""

from __future__ import annotations

import io
import time

import openpyxl
import pytest

from hopthu.mail import parse
from hopthu.policy.filetypes import DANGEROUS_EXTENSIONS
from hopthu.protection import archives
from hopthu.protection.filetypes import dangerous_file, inspect
from tests.protection.files import docx, encrypted, mail, rar4, rar5, zip_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def found(*files) -> str | None:
    data = mail(*files)
    finding = dangerous_file(data, parse(data), DANGEROUS_EXTENSIONS)
    return None if finding is None else finding.en


def xlsx() -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "Báo cáo"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_ordinary_files_pass() -> None:
    assert found(("hoso.pdf", PDF, "application/pdf")) is None
    assert found(("hoso.docx", docx())) is None
    assert found(("bang.xlsx", xlsx())) is None
    assert found(("hoso.exe.pdf", PDF)) is None  # a PDF whatever its name says before
    assert found(("anh.zip", zip_of(("a.jpg", b"\xff\xd8"), ("b/c.pdf", PDF)))) is None


def test_a_message_without_files_is_not_looked_at() -> None:
    data = mail()
    assert parse(data).attachments == ()
    assert dangerous_file(data, parse(data), DANGEROUS_EXTENSIONS) is None


@pytest.mark.parametrize(
    "name",
    [
        "setup.exe",
        "hoso.pdf.exe",
        "HOSO.PDF.EXE",
        "hoso.exe.",
        "hoso.exe  ",
        "hoso.exe . .",
        "chay.js",
        "lenh.bat",
        "loi tat.lnk",
        "dia.iso",
        "o.vhdx",
        "macro.docm",
        "bang.xlsm",
        "trinh.pptm",
        "hoso.e\u200bxe",
    ],
)
def test_dangerous_names(name: str) -> None:
    assert found((name, b"x")) is not None


def test_right_to_left_override_is_refused_whatever_it_shows() -> None:
    shown_as_pdf = "hoso\u202efdp.exe"
    assert found((shown_as_pdf, b"x")) is not None
    reason = found(("hoso\u202eexe.pdf", PDF))
    assert reason is not None and "direction override" in reason and "\u202e" not in reason


def test_unnamed_programs_by_content_or_type() -> None:
    assert found((None, b"MZ\x90\x00" + bytes(100))) is not None
    assert found((None, b"\x7fELF\x02\x01" + bytes(100))) is not None
    assert found((None, b"L\x00\x00\x00\x01\x14\x02\x00" + bytes(60))) is not None
    assert found((None, b"hello", "application/x-msdownload")) is not None
    assert found(("chuongtrinh", b"MZ" + bytes(100))) is not None  # a name without an extension
    assert found((None, PDF, "application/pdf")) is None


def test_renamed_macro_document_is_refused() -> None:
    reason = found(("hoso.docx", docx(macros=True)))
    assert reason is not None and "VBA" in reason
    assert found(("hoso.zip", zip_of(("bao cao.docx", docx(macros=True))))) is not None


def test_inside_zip_and_nested_zip() -> None:
    reason = found(("hoso.zip", zip_of(("a.txt", b"x"), ("tai lieu/setup.exe", b"MZ"))))
    assert reason == "hoso.zip > tai lieu/setup.exe (a dangerous file type)"
    inner = zip_of(("readme.txt", b"x"), ("run.vbs", b"x"))
    assert (
        found(("hoso.zip", zip_of(("in.zip", inner))))
        == "hoso.zip > in.zip > run.vbs (a dangerous file type)"
    )
    stored = zip_of(("in.zip", inner), compress=0)
    assert found(("hoso.zip", stored)) is not None
    assert found(("hoso.zip", zip_of(("in.zip", zip_of(("a.pdf", PDF)))))) is None


def test_nesting_past_the_bound_is_refused() -> None:
    archive = zip_of(("a.pdf", PDF))
    for level in range(3):
        archive = zip_of((f"level{level}.zip", archive))
    reason = found(("hoso.zip", archive))
    assert reason is not None and "nested more than" in reason


def test_an_archive_without_a_name_or_a_known_extension_is_looked_into_by_its_magic() -> None:
    assert found((None, zip_of(("x.scr", b"x")))) is not None
    assert found(("hoso.dat", zip_of(("x.scr", b"x")))) is not None


def test_password_protected_zip_is_judged_by_its_names() -> None:
    assert found(("hoso.zip", encrypted(zip_of(("a.pdf", PDF), ("b.docx", docx()))))) is None
    assert found(("hoso.zip", encrypted(zip_of(("a.pdf", PDF), ("b.exe", b"MZ"))))) is not None
    # an archive inside behind a password cannot be listed: refused
    reason = found(("hoso.zip", encrypted(zip_of(("in.zip", zip_of(("a.pdf", PDF)))))))
    assert reason is not None and "password" in reason


def test_broken_zip_named_zip_is_refused_but_a_broken_docx_is_judged_by_name() -> None:
    assert "could not be checked" in (found(("hoso.zip", b"PK\x03\x04" + bytes(50))) or "")
    assert found(("hoso.docx", b"PK\x03\x04" + bytes(50))) is None
    assert found(("hoso.docx", b"\xd0\xcf\x11\xe0 an old .doc renamed")) is None


def test_rar5_names_nested_and_hidden() -> None:
    assert found(("hoso.rar", rar5(("a.pdf", PDF), ("b/c.docx", docx())))) is None
    assert found(("hoso.rar", rar5(("a.pdf", PDF), ("b/setup.exe", b"MZ")))) == (
        "hoso.rar > b/setup.exe (a dangerous file type)"
    )
    assert found(("hoso.rar", rar5(("in.zip", zip_of(("x.hta", b"x")))))) is not None
    assert found(("hoso.rar", rar5(("a.pdf", PDF), ("b.exe", b"MZ"), locked={"b.exe"}))) is not None
    assert found(("hoso.rar", rar5(("a.pdf", PDF), locked={"a.pdf"}))) is None
    reason = found(("hoso.rar", rar5(hidden=True)))
    assert reason is not None and "password" in reason


def test_rar4_names_unicode_and_hidden() -> None:
    assert found(("hoso.rar", rar4(("hồ sơ.pdf", PDF)))) is None
    assert found(("hoso.rar", rar4(("hồ sơ.exe", b"MZ")))) is not None
    assert found(("hoso.rar", rar4(("a.pdf", PDF), ("x.cmd", b"x")))) is not None
    assert found(("hoso.rar", rar4(("in.zip", zip_of(("x.ps1", b"x")))))) is not None
    assert "password" in (found(("hoso.rar", rar4(hidden=True))) or "")
    assert archives.members(rar4(("hồ sơ.pdf", PDF)), archives.Budget())[0].name == "hồ sơ.pdf"


def test_a_zip_inside_a_mail_forwarded_as_a_file() -> None:
    inner = mail(("hoso.zip", zip_of(("x.exe", b"MZ"))))
    assert found(("thu.eml", inner, "message/rfc822")) is not None


def test_budget_bounds_entries_and_inflation() -> None:
    many = zip_of(*((f"{i}.txt", b"") for i in range(50)))
    with pytest.raises(archives.Unlisted):
        archives.members(many, archives.Budget(entries=10))
    bomb = zip_of(("in.zip", bytes(archives.MAX_INFLATED + 1)))
    started = time.monotonic()
    reason = found(("hoso.zip", zip_of(("in.zip", bomb))))
    assert reason is not None and "too large" in reason
    assert len(bomb) < 200_000 and time.monotonic() - started >= 0  # unpacked only within the budget


def test_garbage_never_raises() -> None:
    import random

    rng = random.Random(13)
    seeds = [zip_of(("a.txt", b"x"), ("b.pdf", PDF)), rar5(("a.txt", b"x")), rar4(("a.txt", b"x"))]
    for _ in range(300):
        blob = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        for name in ("x.zip", "x.rar", "x.docx"):
            found((name, bytes(blob)))


async def test_inspect_runs_off_the_loop_and_skips_mail_without_files() -> None:
    data = mail(("hoso.pdf.exe", b"MZ"))
    finding = await inspect(data, parse(data), DANGEROUS_EXTENSIONS)
    assert finding is not None and finding.name == "hoso.pdf.exe"
    plain = mail()
    assert await inspect(plain, parse(plain), DANGEROUS_EXTENSIONS) is None
