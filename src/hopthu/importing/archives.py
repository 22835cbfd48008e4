"""The archives people kept on their computers, read as a stream of messages (R13.7).

One file comes in: an mbox (Thunderbird, Apple Mail's export), a single .eml, or a .zip (a browser
uploads files, not folders) holding a Maildir tree, .mbox files, or .eml files. `read_archive`
tells them apart by their first bytes and yields `items.Found` and `items.Skip` one at a time; the
blocking reads happen wherever it is iterated, so the import runs it in a thread (`archiveimport`).

Folders, as the source names them (parts, outermost first; `sink.our_name` maps them to ours):
- Maildir: `cur/` and `new/` of the top folder are Inbox; Maildir++ `.Sent.2019/` is Sent/2019; a
  tree with folders as directories (Dovecot's LAYOUT=fs) keeps its directories. Flags come from the
  name's info `:2,FRS` (also `;2,` and `!2,`, as Windows copies write it): P forwarded, R answered,
  S seen, F flagged, D draft, T trashed (left out, as deleted); lowercase letters are the folder's
  `dovecot-keywords`. `new/` is unread. The time the message arrived is the file's time (the zip's
  exact UTC time when the zip kept one, else the delivery time at the start of the name, else the
  zip's local time); Dovecot's `S=` size in the name is not trusted (the bytes are counted).
- .mbox files: a folder per file (`Sent.mbox`, Thunderbird's `Inbox` without extension, Apple Mail's
  `Sent.mbox/mbox` bundle), Thunderbird's `Archives.sbd/2019` hierarchy kept.
- .eml files: a folder per directory; the time is the Date: header, else the file's.
A directory all entries share (the folder the person zipped) is not a folder of its own.

What a zip may make the server do is bounded (`items.Bounds`): the number of entries and the sum of
their declared sizes are checked before anything is unpacked, each entry is read no further than it
declared and the total no further than `total_max`, and an entry unpacking far beyond its packed size
is left out. Names that would climb out of the archive (`../`, `/etc`, `C:`), links, encrypted entries
and zips inside the zip are left out, each with its reason.
"""

from __future__ import annotations

import datetime as dt
import io
import stat
import struct
import zipfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO

from hopthu.importing.items import (
    ArchiveRefused,
    Bounds,
    Found,
    Item,
    MiB,
    Skip,
    date_header,
    keywords,
    looks_like_mail,
    plausible,
)
from hopthu.importing.mbox import is_mbox, read_mbox
from hopthu.policy.dates import VIETNAM

SNIFF = 1024  # bytes looked at to tell a file's kind
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_MBOX_EXTENSIONS = (".mbox", ".mbx", ".mbs")
_ARCHIVE_EXTENSIONS = (".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst")
# Files programs keep beside mail: indexes, caches, a desktop's traces. Passed over without a word.
_BOOKKEEPING_NAMES = {
    "maildirfolder",
    "subscriptions",
    "info.plist",
    "table_of_contents",
    ".ds_store",
    "thumbs.db",
    "desktop.ini",
}
_BOOKKEEPING_PREFIXES = ("dovecot", "courierimap", "._", ".mh_sequences", "msgfilterrules")
_BOOKKEEPING_SUFFIXES = (".msf", ".dat", ".json", ".sqlite", ".emlxpart", ".plist")
_MAILDIR_FLAGS = {"P": "$Forwarded", "R": "\\Answered", "S": "\\Seen", "F": "\\Flagged", "D": "\\Draft"}
_INFO_SEPARATORS = (":2,", ";2,", "!2,")
_KEYWORDS_FILE_MAX = 64 * 1024


def read_archive(path: Path, bounds: Bounds, *, name: str = "") -> Generator[Item, None, None]:
    """Every message of the file at `path` (`name`: the file's name as the person had it, for the
    folder of a single mbox). Raises `ArchiveRefused` when the file is not mail at all."""
    try:
        with path.open("rb") as handle:
            start = handle.read(SNIFF)
    except OSError as error:
        raise ArchiveRefused("Không đọc được tệp", f"The file cannot be read: {error.strerror}") from None
    if start.startswith(ZIP_MAGIC):
        yield from read_zip(path, bounds)
    elif is_mbox(start):
        with path.open("rb") as handle:
            yield from read_mbox(handle, mbox_folder([], name or path.name), bounds, where=name or path.name)
    elif looks_like_mail(start):
        if path.stat().st_size > bounds.message_max:
            yield Skip((), "too_large", name)
            return
        data = path.read_bytes()
        yield Found((), data, (), date_header(data), name)
    else:
        raise ArchiveRefused(
            "Tệp này không phải thư lưu trữ (.mbox, .eml hoặc .zip chứa thư)",
            "This file is not saved mail (.mbox, .eml, or a .zip of mail)",
        )


def mbox_folder(directories: list[str], file_name: str) -> tuple[str, ...]:
    """The folder of an mbox file: Thunderbird's `X.sbd` directories are folder X, the file's name
    without `.mbox` the folder itself; Apple Mail's bundle `Sent.mbox/mbox` is Sent; a file named
    just `mbox` (or nothing) is the main folder."""
    parts = [d[:-4] if d.lower().endswith(".sbd") else d for d in directories]
    stem = file_name
    for extension in _MBOX_EXTENSIONS:
        if stem.lower().endswith(extension):
            stem = stem[: -len(extension)]
            break
    if stem.lower() == "mbox" and parts and directories[-1].lower().endswith(".mbox"):
        parts[-1] = parts[-1][:-5]
        stem = ""
    elif stem.lower() in ("mbox", ""):
        stem = ""
    return tuple(part for part in [*parts, stem] if part)


# --- zip --------------------------------------------------------------------------------------------


def _safe_parts(name: str) -> list[str] | None:
    """The entry's path as parts, or None when it is absolute, climbs (`..`) or names a drive."""
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        return None
    return parts


def entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its maker meant it: zip tools of macOS and Linux write UTF-8 without
    setting the flag that says so, and zipfile then reads the bytes as code page 437."""
    name = info.filename
    if info.flag_bits & 0x800 or name.isascii():
        return name
    try:
        return name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def _bookkeeping(parts: list[str]) -> bool:
    lowered = parts[-1].lower()
    return (
        "__MACOSX" in parts
        or lowered in _BOOKKEEPING_NAMES
        or lowered.startswith(_BOOKKEEPING_PREFIXES)
        or lowered.endswith(_BOOKKEEPING_SUFFIXES)
    )


def _utc_mtime(info: zipfile.ZipInfo) -> dt.datetime | None:
    """The entry's modification time from Info-ZIP's extended timestamp field (0x5455), which is UTC,
    when the zip has one."""
    extra = info.extra
    at = 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, at)
        body = extra[at + 4 : at + 4 + size]
        if kind == 0x5455 and len(body) >= 5 and body[0] & 1:
            (seconds,) = struct.unpack_from("<I", body, 1)
            return plausible(dt.datetime.fromtimestamp(seconds, dt.UTC))
        at += 4 + size
    return None


def _zip_time(info: zipfile.ZipInfo) -> dt.datetime | None:
    try:
        return plausible(dt.datetime(*info.date_time, tzinfo=VIETNAM))
    except ValueError:
        return None


def _maildir_time(info: zipfile.ZipInfo, file_name: str) -> dt.datetime | None:
    head = file_name.split(".", 1)[0]
    named = None
    if head.isdigit() and len(head) <= 11:
        named = plausible(dt.datetime.fromtimestamp(int(head), dt.UTC))
    return _utc_mtime(info) or named or _zip_time(info)


def maildir_flags(file_name: str, letters: dict[str, str]) -> tuple[tuple[str, ...], bool]:
    """The flags in a Maildir file name's info (`unique:2,FRS`) and whether it was trashed."""
    for separator in _INFO_SEPARATORS:
        if separator in file_name:
            info = file_name.rsplit(separator, 1)[1]
            break
    else:
        return (), False
    flags = [_MAILDIR_FLAGS[ch] for ch in info if ch in _MAILDIR_FLAGS]
    flags.extend(letters[ch] for ch in info if ch in letters)
    return tuple(dict.fromkeys(flags)), "T" in info


def _common_directory(paths: list[list[str]]) -> int:
    """How many leading directories every path shares (the folder the person zipped)."""
    if not paths:
        return 0
    first = paths[0][:-1]
    shared = len(first)
    for parts in paths[1:]:
        directories = parts[:-1]
        shared = min(shared, len(directories))
        for i in range(shared):
            if directories[i] != first[i]:
                shared = i
                break
    return shared


class _MaildirNames:
    """The folder of each Maildir directory (the one holding `cur/` and `new/`) of a zip."""

    def __init__(self, directories: list[tuple[str, ...]]) -> None:
        plain = [d for d in directories if not (d and d[-1].startswith(".") and len(d[-1]) > 1)]
        self.root = min(plain, key=len) if plain else None

    def folder(self, directory: tuple[str, ...]) -> tuple[str, ...]:
        if directory and directory[-1].startswith(".") and len(directory[-1]) > 1:
            return tuple(part for part in directory[-1][1:].split(".") if part)  # Maildir++
        if self.root is not None and directory[: len(self.root)] == self.root:
            return directory[len(self.root) :]  # the root is Inbox, directories below are folders
        return directory


class _Budget:
    """The bytes one zip may still unpack (`Bounds.total_max`), shared by its entries."""

    def __init__(self, total: int) -> None:
        self.left = total


class _Counted(io.RawIOBase):
    """An entry's stream that stops at what the entry declared and at the zip's budget, whatever its
    compressed data would unpack to (the central directory's size is what was checked up front)."""

    def __init__(self, raw: IO[bytes], declared: int, budget: _Budget) -> None:
        self.raw = raw
        self.left = declared
        self.budget = budget
        self.over = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self.left, self.budget.left)
        if wanted <= 0:
            self.over = self.budget.left <= 0 and self.left > 0
            return 0
        data = self.raw.read(wanted)
        buffer[: len(data)] = data
        self.left -= len(data)
        self.budget.left -= len(data)
        return len(data)


def read_zip(path: Path, bounds: Bounds) -> Iterator[Item]:
    """Every message in the zip at `path` (see the module's docstring)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise ArchiveRefused(
            "Tệp nén bị hỏng hoặc không đọc được", "The zip file is damaged or unreadable"
        ) from None
    with archive:
        entries = [info for info in archive.infolist() if not info.is_dir()]
        if len(entries) > bounds.members_max:
            raise ArchiveRefused(
                f"Tệp nén có quá nhiều tệp ({len(entries)}, tối đa {bounds.members_max})",
                f"The zip holds too many files ({len(entries)}, at most {bounds.members_max})",
            )
        declared = sum(info.file_size for info in entries)
        if declared > bounds.total_max:
            raise ArchiveRefused(
                f"Tệp nén giải ra {declared // MiB} MB, quá giới hạn {bounds.total_max // MiB} MB",
                f"The zip unpacks to {declared // MiB} MB, past the limit of {bounds.total_max // MiB} MB",
            )
        yield from _Zip(archive, entries, bounds).items()


class _Zip:
    def __init__(self, archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo], bounds: Bounds) -> None:
        self.archive = archive
        self.bounds = bounds
        self.budget = _Budget(bounds.total_max)
        self.entries: list[tuple[zipfile.ZipInfo, list[str] | None]] = [
            (info, _safe_parts(entry_name(info))) for info in entries
        ]
        named = [parts for _, parts in self.entries if parts and not _bookkeeping(parts)]
        in_maildir = [p for p in named if len(p) >= 2 and p[-2] in ("cur", "new", "tmp")]
        others = [p for p in named if not (len(p) >= 2 and p[-2] in ("cur", "new", "tmp"))]
        self.shared = _common_directory(others)
        self.maildirs = _MaildirNames(sorted({tuple(p[:-2]) for p in in_maildir}))
        self.keywords: dict[tuple[str, ...], dict[str, str]] = {}
        self.by_name = {"/".join(parts): info for info, parts in self.entries if parts}

    def items(self) -> Iterator[Item]:
        for info, parts in self.entries:
            where = entry_name(info)[:300]
            if parts is None:
                yield Skip((), "unsafe_name", where)
            elif _bookkeeping(parts):
                continue
            else:
                yield from self._entry(info, parts, where)

    def _entry(self, info: zipfile.ZipInfo, parts: list[str], where: str) -> Iterator[Item]:
        lowered = parts[-1].lower()
        maildir = len(parts) >= 2 and parts[-2] in ("cur", "new", "tmp")
        folder = self.maildirs.folder(tuple(parts[:-2])) if maildir else tuple(parts[self.shared : -1])
        if stat.S_ISLNK(info.external_attr >> 16):
            yield Skip(folder, "link", where)
        elif info.flag_bits & 0x1:
            yield Skip(folder, "encrypted", where)
        elif lowered.endswith(_ARCHIVE_EXTENSIONS):
            yield Skip(folder, "nested_archive", where)
        elif lowered.endswith(".msg"):
            yield Skip(folder, "outlook_msg", where)
        elif info.file_size > self.bounds.ratio_floor and (
            info.file_size > self.bounds.ratio_max * max(info.compress_size, 1)
        ):
            yield Skip(folder, "packed_too_much", where)
        elif self.budget.left <= 0:
            yield Skip(folder, "over_total", where)
        elif maildir and parts[-2] == "tmp":
            yield Skip(folder, "unfinished", where)
        else:
            try:
                yield from self._read(info, parts, folder, maildir, where)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
                yield Skip(folder, "damaged", where)  # a bad CRC, a method zipfile lacks, a cut file

    def _read(
        self, info: zipfile.ZipInfo, parts: list[str], folder: tuple[str, ...], maildir: bool, where: str
    ) -> Iterator[Item]:
        with self.archive.open(info) as raw:
            counted = _Counted(raw, info.file_size, self.budget)
            stream = io.BufferedReader(counted, buffer_size=64 * 1024)
            start = stream.peek(SNIFF)[:SNIFF]
            if is_mbox(start) and not maildir:
                mbox = mbox_folder(parts[self.shared : -1], parts[-1])
                yield from read_mbox(stream, mbox, self.bounds, where=where)
            elif not looks_like_mail(start):
                yield Skip(folder, "not_mail", where)
            elif info.file_size > self.bounds.message_max:
                yield Skip(folder, "too_large", where)
            else:
                data = stream.read(self.bounds.message_max + 1)
                if counted.over:
                    yield Skip(folder, "over_total", where)
                elif len(data) > self.bounds.message_max:
                    yield Skip(folder, "too_large", where)
                elif maildir:
                    yield self._maildir_message(info, parts, folder, data, where)
                else:
                    arrived = date_header(data) or _utc_mtime(info) or _zip_time(info)
                    yield Found(folder, data, (), arrived, where)
            if counted.over:
                yield Skip(folder, "over_total", where)

    def _maildir_message(
        self, info: zipfile.ZipInfo, parts: list[str], folder: tuple[str, ...], data: bytes, where: str
    ) -> Item:
        letters = self._keywords(tuple(parts[:-2]))
        flags, trashed = maildir_flags(parts[-1], letters) if parts[-2] == "cur" else ((), False)
        if trashed:
            return Skip(folder, "deleted", where)
        return Found(folder, data, flags, _maildir_time(info, parts[-1]), where)

    def _keywords(self, directory: tuple[str, ...]) -> dict[str, str]:
        """Dovecot's `dovecot-keywords` of a Maildir folder: lines `0 $Label1`, letter a is 0."""
        if directory not in self.keywords:
            found: dict[str, str] = {}
            info = self.by_name.get("/".join([*directory, "dovecot-keywords"]))
            try:
                if info is not None and info.file_size <= _KEYWORDS_FILE_MAX and not info.flag_bits & 0x1:
                    text = self.archive.read(info).decode("utf-8", "replace")
                    for line in text.splitlines()[:26]:
                        number, _, word = line.partition(" ")
                        if number.isdigit() and int(number) < 26 and keywords(word):
                            found[chr(ord("a") + int(number))] = keywords(word)[0]
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
                pass  # no keywords file, or a damaged one: the messages keep their other flags
            self.keywords[directory] = found
        return self.keywords[directory]
