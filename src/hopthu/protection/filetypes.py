"""Dangerous file types (R13.2): refused at the MX by name, also inside archives.

A name is dangerous when its last extension is on the list, or when any extension before it is and
the file poses as a document (`hoso.pdf.exe` ends in .exe anyway; `hoso.exe.pdf` is not refused).
"""

from __future__ import annotations

from collections.abc import Collection

from hopthu.mail import ParsedMessage


def _extensions(name: str) -> list[str]:
    return [part.lower().strip() for part in name.rsplit("/", 1)[-1].split(".")[1:]]


def dangerous_name(name: str, extensions: Collection[str]) -> bool:
    parts = _extensions(name)
    return bool(parts) and parts[-1].rstrip(" .") in extensions


def dangerous_file(data: bytes, parsed: ParsedMessage, extensions: Collection[str]) -> str | None:
    """The first attachment (or archive member, as "archive.zip → member.exe") that is dangerous."""
    wanted = {extension.lower().lstrip(".") for extension in extensions}
    for attachment in parsed.attachments:
        if attachment.filename and dangerous_name(attachment.filename, wanted):
            return attachment.filename
    return None
