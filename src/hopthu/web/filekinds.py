"""What kind of file an attachment is, in words a person reads ("Tài liệu PDF", not
`application/pdf`), with the icon the reading page draws beside it.

The kind is read from the declared type first and the file name's extension second: mailers often
send a spreadsheet or a Word file as `application/octet-stream`, and a type is never trusted to open
anything here, only to choose a word and an icon.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FileKind:
    key: str  # the icon's name and the CSS class ("pdf", "image", ...)
    vi: str
    en: str

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


PDF = FileKind("pdf", "Tài liệu PDF", "PDF document")
IMAGE = FileKind("image", "Ảnh", "Image")
SHEET = FileKind("sheet", "Bảng tính", "Spreadsheet")
WORD = FileKind("word", "Văn bản Word", "Word document")
ARCHIVE = FileKind("archive", "Tệp nén", "Compressed file")
OTHER = FileKind("file", "Tệp", "File")

_BY_TYPE = {
    "application/pdf": PDF,
    "application/vnd.ms-excel": SHEET,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": SHEET,
    "application/vnd.oasis.opendocument.spreadsheet": SHEET,
    "text/csv": SHEET,
    "application/msword": WORD,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": WORD,
    "application/zip": ARCHIVE,
    "application/x-zip-compressed": ARCHIVE,
    "application/x-7z-compressed": ARCHIVE,
    "application/x-rar-compressed": ARCHIVE,
    "application/vnd.rar": ARCHIVE,
    "application/gzip": ARCHIVE,
    "application/x-tar": ARCHIVE,
}
_BY_EXTENSION = {
    "pdf": PDF,
    "xls": SHEET,
    "xlsx": SHEET,
    "ods": SHEET,
    "csv": SHEET,
    "doc": WORD,
    "docx": WORD,
    "zip": ARCHIVE,
    "7z": ARCHIVE,
    "rar": ARCHIVE,
    "gz": ARCHIVE,
    "tgz": ARCHIVE,
    "tar": ARCHIVE,
    "jpg": IMAGE,
    "jpeg": IMAGE,
    "png": IMAGE,
    "gif": IMAGE,
    "webp": IMAGE,
    "bmp": IMAGE,
    "tif": IMAGE,
    "tiff": IMAGE,
    "heic": IMAGE,
}


def file_kind(content_type: str, filename: str | None) -> FileKind:
    """The kind a person would call this file: by its type, else by its name's extension."""
    content_type = content_type.lower()
    known = _BY_TYPE.get(content_type)
    if known is not None:
        return known
    if content_type.startswith("image/"):
        return IMAGE
    extension = (filename or "").rpartition(".")[2].lower() if "." in (filename or "") else ""
    return _BY_EXTENSION.get(extension, OTHER)
