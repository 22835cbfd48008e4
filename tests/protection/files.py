"""Files for the protection tests, made here: zip archives with the standard library, RAR 4 and
RAR 5 archives written from RARLAB's format description (no rar tool is needed), mails carrying them."""

from __future__ import annotations

import email
import email.policy
import functools
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage

from hopthu.mail import ParsedMessage, canonical, parse


def zip_of(*members: tuple[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compress) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def encrypted(archive: bytes) -> bytes:
    """The zip with every member marked encrypted (general purpose bit 0), as a password would."""
    out = bytearray(archive)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = out.find(signature)
        while pos >= 0:
            out[pos + flag_at] |= 1
            pos = out.find(signature, pos + 4)
    return bytes(out)


def docx(*, macros: bool = False) -> bytes:
    members = [
        ("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
        ("word/document.xml", b'<?xml version="1.0"?><w:document/>'),
    ]
    if macros:
        members.append(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0" + bytes(60)))
    return zip_of(*members)


# --- RAR 5 ---------------------------------------------------------------------------------------


def _vint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _rar5_header(kind: int, body: bytes, *, extra: bytes = b"", data: bytes = b"") -> bytes:
    flags = (1 if extra else 0) | (2 if data else 0)
    fields = _vint(kind) + _vint(flags)
    fields += (_vint(len(extra)) if extra else b"") + (_vint(len(data)) if data else b"")
    fields += body + extra
    header = _vint(len(fields)) + fields
    return struct.pack("<L", zlib.crc32(header)) + header + data


def rar5(*members: tuple[str, bytes], locked: set[str] = frozenset(), hidden: bool = False) -> bytes:
    """A RAR 5 archive of stored members; `locked` names are encrypted, `hidden` encrypts headers."""
    out = b"Rar!\x1a\x07\x01\x00"
    if hidden:
        out += _rar5_header(4, _vint(0) + _vint(0) + bytes(1) + bytes(16))
        return out + bytes(64)  # what follows is ciphertext
    out += _rar5_header(1, _vint(0))
    for name, data in members:
        raw = name.encode()
        body = _vint(0x04) + _vint(len(data)) + _vint(0x20) + struct.pack("<L", zlib.crc32(data))
        body += _vint(0) + _vint(0) + _vint(len(raw)) + raw
        extra = b""
        if name in locked:
            record = _vint(0x01) + _vint(0) + _vint(0) + bytes(16 + 16)
            extra = _vint(len(record)) + record
        out += _rar5_header(2, body, extra=extra, data=data)
    return out + _rar5_header(5, _vint(0))


# --- RAR 4 ---------------------------------------------------------------------------------------


def _rar4_block(kind: int, flags: int, body: bytes, data: bytes = b"") -> bytes:
    head = struct.pack("<BHH", kind, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(head) & 0xFFFF) + head + data


def _rar4_unicode(name: str) -> bytes:
    """unrar's packed Unicode name: every character as a full 16-bit value (op 2)."""
    packed = bytearray([0])
    for i in range(0, len(name), 4):
        group = name[i : i + 4]
        packed.append(sum(2 << (6 - 2 * j) for j in range(len(group))))
        for ch in group:
            packed += struct.pack("<H", ord(ch))
    return name.encode("ascii", "replace") + b"\x00" + bytes(packed)


def rar4(*members: tuple[str, bytes], locked: set[str] = frozenset(), hidden: bool = False) -> bytes:
    out = b"Rar!\x1a\x07\x00" + _rar4_block(0x73, 0x0080 if hidden else 0, bytes(6))
    if hidden:
        return out + bytes(64)
    for name, data in members:
        unicode = not name.isascii()
        raw = _rar4_unicode(name) if unicode else name.encode()
        flags = 0x8000 | (0x0200 if unicode else 0) | (0x0004 if name in locked else 0)
        body = struct.pack(
            "<LLBLLBBHL", len(data), len(data), 2, zlib.crc32(data), 0, 29, 0x30, len(raw), 0x20
        )
        out += _rar4_block(0x74, flags, body + raw, data)
    return out + _rar4_block(0x7B, 0x4000, b"")


# --- mail ----------------------------------------------------------------------------------------


def mail(
    *files: tuple[str | None, bytes] | tuple[str | None, bytes, str],
    sender: str = "ban@example.org",
    to: str = "nvminh@cantho.gov.vn",
    subject: str = "Hồ sơ",
    body: str = "Gửi anh hồ sơ.",
) -> bytes:
    """A message with `files` attached: (name, content) or (name, content, content type)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Mon, 02 Mar 2026 08:30:00 +0700"
    message["Message-ID"] = f"<{abs(hash((subject, body, len(files))))}@example.org>"
    message.set_content(body)
    for file in files:
        name, content = file[0], file[1]
        maintype, subtype = (file[2] if len(file) > 2 else "application/octet-stream").split("/")
        if maintype == "message":
            inner = email.message_from_bytes(content, policy=email.policy.default)
            message.add_attachment(inner, filename=name)
        elif name is None:
            message.add_attachment(content, maintype=maintype, subtype=subtype)
            del message.get_payload()[-1]["Content-Disposition"]
        else:
            message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return canonical(message.as_bytes())


def parsed(data: bytes) -> tuple[bytes, ParsedMessage]:
    return data, parse(data)


# --- documents with text -------------------------------------------------------------------------

DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@functools.lru_cache(maxsize=64)
def pdf_with(*lines: str) -> bytes:
    """A PDF with one line of DejaVu text per argument (kept: embedding the font takes a while)."""
    from fpdf import FPDF

    document = FPDF()
    document.add_font("DejaVu", "", DEJAVU)
    document.add_page()
    document.set_font("DejaVu", "", 12)
    for line in lines:
        document.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    return bytes(document.output())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def docx_with(*paragraphs: str, header: str = "") -> bytes:
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    body = "".join(
        f'<w:p><w:r><w:t>{_escape(p[: len(p) // 2])}</w:t></w:r><w:r><w:t xml:space="preserve">'
        f"{_escape(p[len(p) // 2 :])}</w:t></w:r></w:p>"
        for p in paragraphs
    )
    members = [
        ("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
        (
            "word/document.xml",
            f'<?xml version="1.0"?><w:document {w}><w:body>{body}</w:body></w:document>'.encode(),
        ),
    ]
    if header:
        members.append(
            (
                "word/header1.xml",
                f"<w:hdr {w}><w:p><w:r><w:t>{_escape(header)}</w:t></w:r></w:p></w:hdr>".encode(),
            )
        )
    return zip_of(*members)


def xlsx_with(*cells: str) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row, value in enumerate(cells, 1):
        book.active.cell(row=row, column=1, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def odt_with(*paragraphs: str) -> bytes:
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )
    body = "".join(
        f"<text:p>{_escape(p[:2])}<text:span>{_escape(p[2:])}</text:span></text:p>" for p in paragraphs
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns}><office:body>'
        f"<office:text>{body}</office:text></office:body></office:document-content>"
    )
    return zip_of(("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", content.encode()))
