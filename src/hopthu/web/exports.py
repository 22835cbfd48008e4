"""What leaves the server as a file for a desktop program: names inside a zip archive and cells of a
CSV file. Both carry text that a user or a stranger's mail chose (folder names, subjects, reasons),
and both are opened by programs that act on it: an unzip tool writes where an entry's name says, a
spreadsheet runs a cell that looks like a formula. So every name and cell is made inert here.
"""

from __future__ import annotations

import unicodedata

# Characters no file system of the city's desktops takes in a name, and the path separators.
_UNSAFE = str.maketrans({ch: " " for ch in '/\\:*?"<>|'})
# Windows gives these names to devices, whatever the extension (`CON.txt` is the console).
_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(10)), *(f"LPT{n}" for n in range(10))}
PART_MAX = 80  # characters of one folder or file name
DEPTH_MAX = 16  # folders in one entry's path
# OWASP "CSV injection": a cell starting with one of these is read as a formula by spreadsheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_part(text: str, limit: int = PART_MAX) -> str:
    """One folder or file name: no separator, no control or format character (bidi overrides
    included), no leading or trailing dot or space, not a device name, at most `limit` characters;
    empty when nothing is left (`..`, `.`, blanks)."""
    printable = "".join(
        ch for ch in text.translate(_UNSAFE) if ch.isprintable() and unicodedata.category(ch) != "Cf"
    )
    cleaned = " ".join(printable.split())[:limit].strip(" .")
    if cleaned.split(".")[0].upper() in _DEVICES:
        cleaned = f"_{cleaned}"
    return cleaned


class EntryNames:
    """Names for the entries of one zip archive: relative, inside the archive's root whatever unzips
    it (no absolute path, no `..`, no drive letter, no backslash), a folder's hierarchy kept as
    folders, and each name used once (compared without case, as Windows and macOS do)."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._tried: dict[str, int] = {}  # the last number tried per name: no quadratic search

    def folder(self, name: str) -> str:
        """A mail folder's name (`/` between levels) as the archive's folder path ("" for the root)."""
        parts = [part for part in (safe_part(p) for p in name.split("/")) if part]
        return "/".join(parts[:DEPTH_MAX])

    def entry(self, folder: str, file_name: str) -> str:
        """A unique entry name for `file_name` inside the archive folder `folder` (from `folder()`)."""
        stem, dot, extension = file_name.rpartition(".")
        if not dot:
            stem, extension = extension, ""
        stem, extension = safe_part(stem) or "_", safe_part(extension, 16)
        suffix = f".{extension}" if extension else ""
        wanted = f"{folder}/{stem}{suffix}".lower()
        n = self._tried.get(wanted, 0)
        while True:
            n += 1
            numbered = stem if n == 1 else f"{stem[: PART_MAX - 8]} ({n})"
            candidate = f"{folder}/{numbered}{suffix}" if folder else f"{numbered}{suffix}"
            if candidate.lower() not in self._used:
                self._tried[wanted] = n
                self._used.add(candidate.lower())
                return candidate


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows as text, never runs: text starting like a formula gets a leading
    apostrophe (OWASP's advice for CSV injection); numbers and empty cells stay as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_row(values: list[object]) -> list[object]:
    return [csv_cell(value) for value in values]


class ZipSink:
    """Where zipfile writes a streamed archive: kept until the stream takes it (zipfile needs no
    seeking then), so a download of any size holds one entry's bytes at a time."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        return None

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out
