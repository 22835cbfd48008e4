"""Nothing at rest is readable by anyone but the account the server runs as.

The process takes a private umask (0o077) before it writes anything, so every file it creates is
0600 and every folder 0700 whatever the library doing the writing (SQLite and its -wal/-shm files,
zstd bodies, pg_dump, the backup copies). Folders made before this rule existed are tightened at
start: the data folder itself, its database and its keys; a data folder owned by another account is
reported (it cannot be tightened by us and anyone who owns it can read the mail).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("hopthu.security")

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_process() -> None:
    """Every file this process creates from now on is readable by its owner only."""
    os.umask(PRIVATE_UMASK)


def make_private(path: Path) -> None:
    """0600 for a file, 0700 for a folder (nothing for a path that does not exist)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        return  # a link's own mode means nothing; the file it names is tightened where it lives
    wanted = FOLDER_MODE if stat.S_ISDIR(mode) else FILE_MODE
    if stat.S_IMODE(mode) & ~wanted:
        os.chmod(path, stat.S_IMODE(mode) & wanted)


def private_folder(path: Path) -> Path:
    """`path` and its missing parents made as folders only the owner reads (0700)."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    make_private(path)
    return path


def tighten(data_dir: Path, files: Iterable[Path]) -> list[str]:
    """Make the data folder and the given files in it private; warnings for what could not be (a
    folder owned by another account, a file we may not change). Returns the warnings, also logged."""
    warnings: list[str] = []
    if not data_dir.exists():
        return warnings
    owner = data_dir.stat().st_uid
    if owner != os.geteuid():
        warnings.append(
            f"data folder {data_dir} belongs to uid {owner}, not to uid {os.geteuid()} running the server"
        )
    for path in (data_dir, *files):
        try:
            make_private(path)
        except OSError as error:
            warnings.append(f"cannot make {path} private: {error.strerror}")
    for warning in warnings:
        log.warning(warning)
    return warnings
