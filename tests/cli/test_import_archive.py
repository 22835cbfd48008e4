"""R13.7: `hopthu account import-archive ADDRESS FILE [--folder NAME]`, through Typer's runner in this
process (the command's own code), on both backends: an mbox and a zip of .eml files imported with
the summary printed and the act audited; a file that is not mail and a missing file refused in both
languages."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hopthu import cli as root
from tests.factories import make_message


def test_r13_7_import_archive_from_the_command_line(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(root, "private_process", lambda: None)  # this process's umask stays as it is
    data = tmp_path / "data"

    def hopthu(*args: str) -> tuple[int, str]:
        done = CliRunner().invoke(root.app, ["--data", str(data), *args])
        assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
        return done.exit_code, done.output

    extra = () if database_url.startswith("sqlite") else ("--database-url", database_url)
    assert hopthu("init", "--json", *extra)[0] == 0
    assert hopthu("agency", "add", "--name", "Sở Nội vụ")[0] == 0
    assert hopthu("account", "add", "--family", "Lê", "--given", "Na", "--agency", "sonv")[0] == 0

    mbox = tmp_path / "Sent.mbox"
    mbox.write_bytes(
        b"From - Mon Jan  5 08:30:00 2015\n"
        + make_message("Một").replace(b"\r\n", b"\n")
        + b"\nFrom - Mon Jan  5 08:31:00 2015\n"
        + make_message("Hai").replace(b"\r\n", b"\n")
        + b"\nFrom - Mon Jan  5 08:32:00 2015\nX-Mozilla-Status: 0009\nSubject: deleted\n\nx\n"
    )
    code, said = hopthu("account", "import-archive", "lna", str(mbox))
    assert code == 0, said
    assert "Sent" in said and "Đã nhập / imported: 2 thư / messages" in said
    assert "đã bị xóa trong chương trình cũ" in said  # the one left out, and why

    emls = tmp_path / "keo-tha.zip"
    with zipfile.ZipFile(emls, "w") as archive:
        archive.writestr("a.eml", make_message("Ba"))
        archive.writestr("sub/b.eml", make_message("Bốn"))
    code, said = hopthu("account", "import-archive", "lna", str(emls), "--folder", "Thư cũ", "--json")
    assert code == 0, said
    result = json.loads(said)
    assert result["imported"] == 2 and result["folders"]["Thư cũ"]["imported"] == 2

    code, said = hopthu("account", "show", "lna", "--json")
    shown = json.loads(said)
    assert shown["messages"] == 4
    assert [e["action"] for e in shown["history"]].count("mail.archive_imported") == 2

    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"\x00\x01 nothing like mail")
    code, said = hopthu("account", "import-archive", "lna", str(notes))
    assert code == 1 and "không phải thư lưu trữ" in said and "not saved mail" in said
    code, said = hopthu("account", "import-archive", "lna", str(tmp_path / "missing.mbox"))
    assert code == 1 and "Không có tệp" in said and "No file" in said
