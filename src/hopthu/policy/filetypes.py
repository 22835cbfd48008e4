"""Which files are dangerous to receive (R13.2: dangerous file types refused by default), judged by
their names, their declared type and their first octets.

The decisions over one name or one file's head are here; `protection.filetypes` walks a message's
files and the archives among them and asks these for each name it finds. The list of extensions
is the default of the setting `protection.dangerous_extensions`.

Nothing here reads a file or the message: a name, a content type and the first octets are
parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Final

# Executables, scripts, shortcuts, disk images and macro-enabled Office files: what ransomware and
# phishing arrive as. Refused at the MX by name (the last extension and any extension before it, so
# `hoso.pdf.exe` too), also inside zip and rar archives.
DANGEROUS_EXTENSIONS: Final = (
    "exe",
    "com",
    "scr",
    "pif",
    "cpl",
    "msi",
    "msp",
    "mst",
    "dll",
    "sys",
    "drv",
    "ocx",
    "bat",
    "cmd",
    "ps1",
    "psm1",
    "psd1",
    "vbs",
    "vbe",
    "js",
    "jse",
    "wsf",
    "wsh",
    "wsc",
    "hta",
    "jar",
    "lnk",
    "url",
    "scf",
    "reg",
    "inf",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "dmg",
    "docm",
    "dotm",
    "xlsm",
    "xltm",
    "xlam",
    "pptm",
    "potm",
    "ppam",
    "ppsm",
    "sldm",
    "appx",
    "msix",
    "application",
    "gadget",
    "chm",
    "settingcontent-ms",
)
"""R13.2: the extensions refused by default (the setting `protection.dangerous_extensions`)."""

EXECUTABLE_TYPES: Final = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-sharedlib",
        "application/vnd.microsoft.portable-executable",
        "application/x-ms-shortcut",
        "application/x-msi",
        "application/x-ms-installer",
        "application/hta",
        "application/x-elf",
    }
)
"""Content types that say a file is a program."""
MAGIC: Final = (b"MZ", b"\x7fELF", b"L\x00\x00\x00\x01\x14\x02\x00")
"""First octets of a Windows program, an ELF program, a Windows shortcut."""
# Bidirectional embeddings, overrides and isolates (Unicode TR 9): they reorder what a name shows.
BIDI: Final = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
IGNORED: Final = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")
"""Invisible characters Windows drops from a name before it looks at the extension."""


def wanted_extensions(extensions: Iterable[str]) -> frozenset[str]:
    """The setting's extensions as `extension` gives them: lower case, no leading dot."""
    return frozenset(extension.lower().lstrip(".") for extension in extensions)


def extension(name: str) -> str:
    """The extension Windows would act on: after the last dot of the last path segment, once
    trailing dots, spaces and invisible characters are gone ("" when there is none)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].split("\x00", 1)[0]
    base = "".join(ch for ch in base if ch not in IGNORED and ch not in BIDI).rstrip(" .\t\r\n")
    stem, dot, ext = base.rpartition(".")
    return ext.strip().lower() if dot and stem.strip(" .") else ""


def hides_extension(name: str) -> bool:
    """A bidirectional control in a file name has no use but to show `hoso<U+202E>fdp.exe` as
    `hosoexe.pdf`: the name hides its real extension."""
    return any(ch in BIDI for ch in name)


def dangerous_name(name: str, extensions: Collection[str]) -> bool:
    """R13.2: a name that hides its extension, or whose extension (before or after a NUL, which some
    readers stop at) is one of `extensions` (as `wanted_extensions` gives them)."""
    if hides_extension(name):
        return True
    names = {name, name.split("\x00", 1)[0]}
    return any(extension(candidate) in extensions for candidate in names)


def looks_like_program(content_type: str, head: bytes) -> bool:
    """A file that says it is a program by its content type or its first octets (for a file without
    a name or an extension, which its name cannot judge)."""
    return content_type in EXECUTABLE_TYPES or head.startswith(MAGIC)


def is_vba_project(member_name: str) -> bool:
    """An Office file's VBA project: a document carrying it runs macros, whatever its extension."""
    path = member_name.replace("\\", "/").lower()
    return extension(member_name) == "bin" and path.endswith("vbaproject.bin")
