"""The list of files inside a zip or rar archive, read from its directory, never by unpacking it.

Zip: the central directory (PKWARE APPNOTE 6.3, with Zip64 and the Info-ZIP Unicode path), found
from the end of the file as every unzip tool finds it. RAR 4 and RAR 5: the block headers, walked
from the signature (an SFX stub before it is skipped). Only a member that is itself an archive is
ever read, and only up to `Budget.inflated` octets in all: nested archives are how a listing that
stops at the first level is fooled.

Everything is bounded by the `Budget` a message gets: entries listed, octets inflated, time. What
cannot be listed within it, or at all, raises `Unlisted` with the reason in both languages; what
the caller does with that is its rule (filetypes: refuse, see there). Pure code, no I/O, meant to
run in a worker thread.
"""

from __future__ import annotations

import bz2
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_ENTRIES = 20_000  # names listed per message, every archive and level together
MAX_INFLATED = 64 * 1024 * 1024  # octets unpacked per message to look into nested archives
MAX_SECONDS = 10.0
SFX_REACH = 1024 * 1024  # how far into the file a RAR signature is looked for (RAR's own limit)

ZIP_LOCAL = b"PK\x03\x04"
ZIP_END = b"PK\x05\x06"
RAR4 = b"Rar!\x1a\x07\x00"
RAR5 = b"Rar!\x1a\x07\x01\x00"


class Unlisted(Exception):
    """An archive whose list of files could not be read: `vi` and `en` say why."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


@dataclass
class Budget:
    """What inspecting one message may spend."""

    entries: int = MAX_ENTRIES
    inflated: int = MAX_INFLATED
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)

    def entry(self) -> None:
        self.entries -= 1
        if self.entries < 0:
            raise Unlisted(
                "quá nhiều tệp trong tệp nén để kiểm tra", "too many files in the archive to check"
            )
        if time.monotonic() > self.deadline:
            raise Unlisted(
                "tệp nén mất quá nhiều thời gian để kiểm tra", "the archive took too long to check"
            )


@dataclass(frozen=True)
class Member:
    """One file in an archive: its names (a Unicode path beside the stored one), whether it is
    encrypted, and how to read it (`None`: cannot be read without unpacking a RAR)."""

    names: tuple[str, ...]
    encrypted: bool
    size: int  # unpacked, as the directory says
    _reader: tuple[int, int, int] | None = None  # (offset of data, packed size, method) for stored/deflate

    @property
    def name(self) -> str:
        return self.names[-1]


def kind(head: bytes) -> str | None:
    """ "zip" or "rar" by the first octets (a RAR SFX is found by `members`, not here)."""
    if head.startswith((ZIP_LOCAL, ZIP_END)):
        return "zip"
    if head.startswith((RAR4, RAR5[:7])):
        return "rar"
    return None


def members(data: bytes, budget: Budget, hint: str | None = None) -> list[Member]:
    """The archive's members, as its directory lists them. Raises Unlisted."""
    found = hint or kind(data[:8])
    if found == "rar" or (found is None and data.find(b"Rar!\x1a\x07", 0, SFX_REACH) >= 0):
        return list(_rar(data, budget))
    return list(_zip(data, budget))


def read(data: bytes, member: Member, budget: Budget) -> bytes:
    """A member's content, unpacked within the budget. Raises Unlisted when it cannot be."""
    if member.encrypted:
        raise Unlisted(
            f"tệp nén {member.name} có mật khẩu, không đọc được danh sách tệp bên trong",
            f"the archive {member.name} is protected by a password: its list of files cannot be read",
        )
    if member._reader is None:
        raise Unlisted(
            f"không mở được tệp nén lồng bên trong: {member.name}",
            f"a nested archive cannot be opened: {member.name}",
        )
    offset, packed, method = member._reader
    if member.size > budget.inflated:
        raise Unlisted(
            f"tệp nén lồng bên trong quá lớn để kiểm tra: {member.name}",
            f"a nested archive is too large to check: {member.name}",
        )
    chunk = data[offset : offset + packed]
    try:
        if method == 0:
            out = chunk[: budget.inflated + 1]
        elif method == 8:
            out = zlib.decompressobj(-15).decompress(chunk, budget.inflated + 1)
        elif method == 12:
            out = bz2.BZ2Decompressor().decompress(chunk, budget.inflated + 1)
        else:
            raise Unlisted(
                f"tệp nén lồng bên trong dùng cách nén không hỗ trợ: {member.name}",
                f"a nested archive uses an unsupported compression: {member.name}",
            )
    except (zlib.error, OSError, EOFError, ValueError) as error:
        raise Unlisted(
            f"tệp nén lồng bên trong bị hỏng: {member.name}", f"a nested archive is broken: {member.name}"
        ) from error
    if len(out) > budget.inflated:
        raise Unlisted(
            f"tệp nén lồng bên trong quá lớn để kiểm tra: {member.name}",
            f"a nested archive is too large to check: {member.name}",
        )
    budget.inflated -= len(out)
    return out


def _broken(what: str) -> Unlisted:
    return Unlisted(f"tệp nén bị hỏng ({what})", f"the archive is broken ({what})")


# --- zip ------------------------------------------------------------------------------------------


def _zip(data: bytes, budget: Budget) -> Iterator[Member]:
    end = data.rfind(ZIP_END, max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        raise _broken("no central directory")
    _, _, _, count, size, offset, _ = struct.unpack_from("<4H2LH", data, end + 4)
    if count == 0xFFFF or size == 0xFFFFFFFF or offset == 0xFFFFFFFF:
        locator = end - 20
        if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
            raise _broken("Zip64 locator missing")
        (where,) = struct.unpack_from("<Q", data, locator + 8)
        record = locator - 56 if data[locator - 56 : locator - 52] == b"PK\x06\x06" else where
        if data[record : record + 4] != b"PK\x06\x06":
            raise _broken("Zip64 end record missing")
        count, size, offset = struct.unpack_from("<QQQ", data, record + 32)
        end = record
    shift = end - size - offset  # data prepended to the archive (an SFX stub, a mail client's junk)
    if shift < 0:
        raise _broken("directory out of range")
    pos = offset + shift
    for _ in range(count):
        budget.entry()
        if data[pos : pos + 4] != b"PK\x01\x02" or pos + 46 > len(data):
            raise _broken("bad directory entry")
        flags, method = struct.unpack_from("<2H", data, pos + 8)
        packed, unpacked, name_len, extra_len, comment_len = struct.unpack_from("<2L3H", data, pos + 20)
        (local,) = struct.unpack_from("<L", data, pos + 42)
        raw = data[pos + 46 : pos + 46 + name_len]
        extra = data[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        pos += 46 + name_len + extra_len + comment_len
        names = [raw.decode("utf-8" if flags & 0x800 else "cp437", "replace")]
        unpacked, packed, local = _zip64(extra, unpacked, packed, local)
        unicode = _unicode_path(extra)
        if unicode:
            names.append(unicode)
        reader = None
        head = local + shift
        if data[head : head + 4] == ZIP_LOCAL and head + 30 <= len(data):
            skip_name, skip_extra = struct.unpack_from("<2H", data, head + 26)
            reader = (head + 30 + skip_name + skip_extra, packed, method)
        yield Member(tuple(names), bool(flags & 1), unpacked, reader)


def _extra_fields(extra: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, pos)
        yield tag, extra[pos + 4 : pos + 4 + size]
        pos += 4 + size


def _zip64(extra: bytes, unpacked: int, packed: int, local: int) -> tuple[int, int, int]:
    for tag, value in _extra_fields(extra):
        if tag == 0x0001:
            values = [v for (v,) in struct.iter_unpack("<Q", value[: len(value) // 8 * 8])]
            if unpacked == 0xFFFFFFFF and values:
                unpacked = values.pop(0)
            if packed == 0xFFFFFFFF and values:
                packed = values.pop(0)
            if local == 0xFFFFFFFF and values:
                local = values.pop(0)
    return unpacked, packed, local


def _unicode_path(extra: bytes) -> str | None:
    for tag, value in _extra_fields(extra):
        if tag == 0x7075 and len(value) > 5:
            return value[5:].decode("utf-8", "replace")
    return None


# --- rar ------------------------------------------------------------------------------------------


def _rar(data: bytes, budget: Budget) -> Iterator[Member]:
    start = data.find(b"Rar!\x1a\x07", 0, SFX_REACH)
    if start < 0:
        raise _broken("no RAR signature")
    if data[start : start + 8] == RAR5:
        yield from _rar5(data, start + 8, budget)
    elif data[start : start + 7] == RAR4:
        yield from _rar4(data, start + 7, budget)
    else:
        raise _broken("unknown RAR version")


def _hidden() -> Unlisted:
    return Unlisted(
        "tệp nén RAR có mật khẩu che cả danh sách tệp bên trong",
        "the RAR archive hides its list of files behind a password",
    )


def _vint(data: bytes, pos: int) -> tuple[int, int]:
    """A RAR 5 variable-length integer at `pos`: (value, position after it)."""
    value = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            break
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos + i + 1
    raise _broken("bad RAR 5 number")


def _rar5(data: bytes, pos: int, budget: Budget) -> Iterator[Member]:
    while pos < len(data):
        budget.entry()
        size, body = _vint(data, pos + 4)
        end_of_header = body + size
        if size == 0 or end_of_header > len(data):
            raise _broken("RAR 5 header out of range")
        kind, at = _vint(data, body)
        flags, at = _vint(data, at)
        extra_size = data_size = 0
        if flags & 0x01:
            extra_size, at = _vint(data, at)
        if flags & 0x02:
            data_size, at = _vint(data, at)
        if kind == 4:
            raise _hidden()
        if kind == 5:
            return
        if kind == 2:
            file_flags, at = _vint(data, at)
            unpacked, at = _vint(data, at)
            _, at = _vint(data, at)  # attributes
            at += (4 if file_flags & 0x02 else 0) + (4 if file_flags & 0x04 else 0)
            compression, at = _vint(data, at)
            _, at = _vint(data, at)  # host OS
            name_len, at = _vint(data, at)
            name = data[at : at + name_len].decode("utf-8", "replace")
            extra = data[end_of_header - extra_size : end_of_header] if extra_size else b""
            encrypted = _rar5_encrypted(extra)
            stored = (compression >> 7) & 7 == 0 and not (compression & 0x40)
            reader = (end_of_header, data_size, 0) if stored and not encrypted else None
            if not file_flags & 0x01:  # not a directory
                yield Member((name,), encrypted, unpacked, reader)
        pos = end_of_header + data_size


def _rar5_encrypted(extra: bytes) -> bool:
    pos = 0
    while pos < len(extra):
        size, at = _vint(extra, pos)
        kind, _ = _vint(extra, at)
        if kind == 0x01:
            return True
        if size == 0:
            break
        pos = at + size
    return False


def _rar4(data: bytes, pos: int, budget: Budget) -> Iterator[Member]:
    while pos + 7 <= len(data):
        budget.entry()
        _, kind, flags, size = struct.unpack_from("<HBHH", data, pos)
        if size < 7 or pos + size > len(data):
            raise _broken("RAR 4 header out of range")
        added = struct.unpack_from("<L", data, pos + 7)[0] if flags & 0x8000 and size >= 11 else 0
        if kind == 0x73 and flags & 0x0080:
            raise _hidden()
        if kind == 0x7B:
            return
        if kind in (0x74, 0x7A) and size >= 32:
            packed, unpacked = struct.unpack_from("<2L", data, pos + 7)
            method = data[pos + 25]
            (name_len,) = struct.unpack_from("<H", data, pos + 26)
            at = pos + 32
            if flags & 0x0100:
                high_packed, high_unpacked = struct.unpack_from("<2L", data, at)
                packed |= high_packed << 32
                unpacked |= high_unpacked << 32
                at += 8
            added = packed
            raw = data[at : min(at + name_len, pos + size)]
            if kind == 0x74 and flags & 0x00E0 != 0x00E0:  # a file, not a directory or a comment
                names = _rar4_names(raw, unicode=bool(flags & 0x0200))
                encrypted = bool(flags & 0x0004)
                reader = (pos + size, packed, 0) if method == 0x30 and not encrypted else None
                yield Member(names, encrypted, unpacked, reader)
        pos += size + added


def _rar4_names(raw: bytes, *, unicode: bool) -> tuple[str, ...]:
    """RAR 4 keeps a name in the system's code page, then (when unicode) a NUL and the name in
    Unicode, packed against the first (unrar's EncodeFileName)."""
    plain, _, packed = raw.partition(b"\x00")
    first = plain.decode("cp437", "replace")
    if not unicode:
        return (first,)
    if not packed:
        return (plain.decode("utf-8", "replace"),)
    out: list[int] = []
    high = packed[0]
    pos, flags, bits = 1, 0, 0
    try:
        while pos < len(packed) and len(out) < 1024:
            if bits == 0:
                flags, pos, bits = packed[pos], pos + 1, 8
            bits -= 2
            op = (flags >> bits) & 3
            if op == 0:
                out.append(packed[pos])
                pos += 1
            elif op == 1:
                out.append(packed[pos] + (high << 8))
                pos += 1
            elif op == 2:
                out.append(packed[pos] + (packed[pos + 1] << 8))
                pos += 2
            else:
                length = packed[pos]
                pos += 1
                if length & 0x80:
                    correction = packed[pos]
                    pos += 1
                    for _ in range((length & 0x7F) + 2):
                        out.append(((plain[len(out)] + correction) & 0xFF) + (high << 8))
                else:
                    for _ in range(length + 2):
                        out.append(plain[len(out)])
    except IndexError:
        pass
    return (first, "".join(chr(c) for c in out if c < 0x110000))
