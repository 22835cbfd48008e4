"""R13.2: which file names and heads are dangerous (`policy.filetypes`), a name or octets as parameters."""

import pytest

from hopthu.policy.filetypes import (
    DANGEROUS_EXTENSIONS,
    dangerous_name,
    extension,
    hides_extension,
    is_vba_project,
    looks_like_program,
    wanted_extensions,
)

WANTED = wanted_extensions(DANGEROUS_EXTENSIONS)


def test_extension_is_what_windows_acts_on() -> None:
    assert extension("a/b\\hoso.pdf.exe. ") == "exe"
    assert extension(".bashrc") == ""
    assert extension("hoso") == ""
    assert extension("hoso.exe\x00.pdf") == "exe"
    assert extension("HOSO.E\u200bXE") == "exe"


@pytest.mark.parametrize(
    "name",
    [
        "setup.exe",
        "hoso.pdf.exe",
        "hoso.exe .",
        "chay.js",
        "loi tat.lnk",
        "dia.iso",
        "macro.docm",
        "a.exe\x00.pdf",
    ],
)
def test_r13_2_dangerous_names(name: str) -> None:
    assert dangerous_name(name, WANTED)


@pytest.mark.parametrize("name", ["hoso.pdf", "hoso.exe.pdf", "bang.xlsx", "anh.zip", ".bashrc", "exe"])
def test_ordinary_names_pass(name: str) -> None:
    assert not dangerous_name(name, WANTED)


def test_a_direction_override_hides_the_extension_whatever_it_shows() -> None:
    assert hides_extension("hoso\u202eexe.pdf") and dangerous_name("hoso\u202eexe.pdf", WANTED)
    assert not hides_extension("hoso.pdf")


def test_the_setting_may_be_written_with_dots_and_capitals() -> None:
    assert wanted_extensions([".EXE", "js"]) == {"exe", "js"}
    assert dangerous_name("a.exe", wanted_extensions([".EXE"]))
    assert not dangerous_name("a.exe", wanted_extensions(["js"]))


def test_programs_by_type_or_first_octets_and_vba_projects() -> None:
    assert looks_like_program("application/octet-stream", b"MZ\x90\x00")
    assert looks_like_program("application/x-msdownload", b"hello")
    assert not looks_like_program("application/pdf", b"%PDF-1.4")
    assert is_vba_project("word/vbaProject.bin") and is_vba_project("xl\\VBAPROJECT.BIN")
    assert not is_vba_project("word/document.xml")
