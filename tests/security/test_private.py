"""An older data folder is tightened at start (`security/private.py`): the folder, its database and
keys become the owner's alone, and a folder owned by another account is reported, not ignored."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from hopthu.security.private import make_private, private_folder, tighten


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_loose_folder_and_files_are_tightened(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "keys").mkdir(parents=True)
    database, key = data / "hopthu.db", data / "keys" / "secret.key"
    database.write_bytes(b"")
    key.write_bytes(b"k" * 32)
    os.chmod(data, 0o755)
    os.chmod(data / "keys", 0o755)
    os.chmod(database, 0o644)
    os.chmod(key, 0o640)
    assert tighten(data, [database, data / "keys", key, data / "missing"]) == []
    assert (mode(data), mode(data / "keys"), mode(database), mode(key)) == (0o700, 0o700, 0o600, 0o600)
    os.chmod(database, 0o400)
    make_private(database)
    assert mode(database) == 0o400  # never loosened
    assert mode(private_folder(tmp_path / "a" / "b")) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another account needs root")
def test_a_folder_owned_by_another_account_is_reported(tmp_path: Path, caplog) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chown(data, 12345, 12345)
    with caplog.at_level(logging.WARNING, logger="hopthu.security"):
        warnings = tighten(data, [])
    assert warnings and "belongs to uid 12345" in warnings[0]
    assert "belongs to uid 12345" in caplog.text
