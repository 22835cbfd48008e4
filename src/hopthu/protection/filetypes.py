"""Dangerous file types (R13.2): refused at the MX by name, by content, and inside archives. This
module finds the files and unpacks the archives; what makes a name or a file dangerous is decided in
`policy.filetypes`.

What is refused (`protection.dangerous_extensions` is the list of extensions):
- a file whose last extension is on the list, after what Windows ignores is taken off (trailing
  dots and spaces, zero-width characters): `hoso.pdf.exe`, `hoso.exe.`, `hoso.exe ` all end in
  .exe; `hoso.exe.pdf` is a PDF and passes;
- a name carrying a bidirectional control (U+202E RIGHT-TO-LEFT OVERRIDE and its kin), which has
  no use in a file name but to show `hoso\u202efdp.exe` as `hosoexe.pdf`;
- a file without a name, or without an extension, that says it is a program by its content type
  or its first octets (MZ, ELF, a Windows shortcut);
- an Office file that carries a VBA project (`vbaProject.bin`), whatever its extension says: a
  .docm renamed .docx still runs its macros;
- any of these inside a zip or rar archive, and inside archives in archives up to `MAX_DEPTH`.

Archives are read by their directory only (`archives`); a nested archive is unpacked within a
per-message budget. An archive whose list of files cannot be read is refused: its names hidden by
a password (RAR -hp), a nested archive behind a password, a broken directory, a listing past the
budget. Nothing the sender could not have avoided is lost: an encrypted zip still shows its names
and passes when they are harmless. The reasoning is that of the malware that arrives as "invoice.zip,
password 1234": neither we nor clamd can look inside, and the recipient is told the password in the
same message. Office files and other containers that merely happen to be zips are not held to this:
a .docx that is really an old .doc, or a damaged one, is judged by its name.

The work is done off the event loop (`inspect`) when a message has files; a message without
attachments costs nothing.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from hopthu.mail import ParsedMessage, filename
from hopthu.mail.decode import lenient_body
from hopthu.mail.message import NOT_FILES
from hopthu.mail.structure import Node
from hopthu.policy.filetypes import (
    BIDI,
    dangerous_name,
    extension,
    hides_extension,
    is_vba_project,
    looks_like_program,
    wanted_extensions,
)
from hopthu.protection import archives

MAX_DEPTH = 3  # archives inside archives looked into (the attachment itself is level 1)
MAX_MESSAGES = 5  # attached messages (message/rfc822) looked into, one in another
MAGIC_READ = 64

ARCHIVES = frozenset({"zip", "rar"})
# Zip containers that are documents: looked into for a VBA project, judged by name when broken.
OFFICE = frozenset({"docx", "xlsx", "pptx", "dotx", "xltx", "potx", "ppsx", "xlsb", "docm", "xlsm", "pptm"})


@dataclass(frozen=True)
class Finding:
    """Why a file is refused: the file (as "archive.zip > member.exe") and the reason."""

    name: str
    vi: str
    en: str


def _shown(name: str) -> str:
    """A name as a refusal may quote it: no control or reordering characters."""
    cleaned = "".join("?" if ch in BIDI or unicodedata.category(ch) == "Cc" else ch for ch in name)
    return cleaned[:120] or "?"


def _name_finding(label: str, name: str) -> Finding:
    if hides_extension(name):
        return Finding(
            label,
            f"{label} (tên tệp có ký tự đảo chiều che phần mở rộng thật)",
            f"{label} (the name carries a direction override hiding its real extension)",
        )
    return Finding(label, f"{label} (loại tệp nguy hiểm)", f"{label} (a dangerous file type)")


def files(node: Node, depth: int = 0) -> Iterator[tuple[Node, str | None, str]]:
    """Every leaf that is a file, with its name and content type, attached messages looked into."""
    kind = node["kind"]
    if kind == "multipart":
        for child in node.get("parts") or ():
            yield from files(child, depth)
        return
    if kind == "message":
        if depth < MAX_MESSAGES and node.get("parts"):
            yield from files(node["parts"][0], depth + 1)
        return
    name = filename(node)
    content_type = f"{node['type']}/{node['subtype']}".lower() if "type" in node else "text/plain"
    disposition = node.get("disposition")
    attached = disposition is not None and disposition[0].lower() == "attachment"
    if content_type in NOT_FILES or (content_type.startswith("text/") and not attached and not name):
        return
    yield node, name, content_type


def dangerous_file(data: bytes, parsed: ParsedMessage, extensions: Collection[str]) -> Finding | None:
    """The first file that is dangerous, or None. Pure and bounded; may take a while on big
    archives: call `inspect` from the event loop."""
    if not parsed.attachments:
        return None
    wanted = wanted_extensions(extensions)
    budget = archives.Budget()
    for node, name, content_type in files(parsed.structure):
        label = _shown(name) if name else f"({content_type})"
        if name and dangerous_name(name, wanted):
            return _name_finding(label, name)
        ext = extension(name) if name else ""
        head = lenient_body(data, node, MAGIC_READ)
        if not ext and looks_like_program(content_type, head):
            return Finding(label, f"{label} (tệp chương trình)", f"{label} (a program)")
        container = archives.kind(head)
        if container is None and ext not in ARCHIVES:
            continue
        body = lenient_body(data, node, node["end"] - node["body_start"])
        strict = ext in ARCHIVES or not ext
        try:
            found = _archive(body, label, container or ext, wanted, budget, depth=1)
        except archives.Unlisted as error:
            if not strict:
                continue
            return Finding(
                label,
                f"{label}: không kiểm tra được {error.vi}",
                f"{label}: could not be checked, {error.en}",
            )
        if found is not None:
            return found
    return None


def _archive(
    body: bytes, label: str, hint: str, wanted: frozenset[str], budget: archives.Budget, *, depth: int
) -> Finding | None:
    members = archives.members(body, budget, hint if hint in ARCHIVES else None)
    for member in members:
        for name in member.names:
            if dangerous_name(name, wanted):
                return _name_finding(f"{label} > {_shown(name)}", name)
        inner = f"{label} > {_shown(member.name)}"
        if is_vba_project(member.name):
            return Finding(label, f"{label} (tài liệu có macro VBA)", f"{label} (a document with VBA macros)")
        ext = extension(member.name)
        if ext not in ARCHIVES and ext not in OFFICE:
            continue
        if ext in OFFICE and member.encrypted:
            continue  # judged by its name; a document behind a password hides no listing
        if depth >= MAX_DEPTH:
            raise archives.Unlisted(
                f"tệp nén lồng nhau quá {MAX_DEPTH} cấp", f"archives nested more than {MAX_DEPTH} deep"
            )
        content = archives.read(body, member, budget)
        try:
            found = _archive(content, inner, ext, wanted, budget, depth=depth + 1)
        except archives.Unlisted:
            if ext in ARCHIVES:
                raise
            continue
        if found is not None:
            return found
    return None


async def inspect(data: bytes, parsed: ParsedMessage, extensions: Collection[str]) -> Finding | None:
    """`dangerous_file` for the event loop: nothing to do without attachments, else in a thread
    (the archive budget bounds its time, so the thread always ends)."""
    if not parsed.attachments:
        return None
    return await asyncio.to_thread(dangerous_file, data, parsed, extensions)
