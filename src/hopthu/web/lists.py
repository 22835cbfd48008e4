"""Lists of requests uploaded to the portal or the API (R10.3): read within `actlist`'s bounds (the
upload is read no further than one byte past the size limit) and named for download."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from fastapi import UploadFile
from fastapi.responses import Response

from hopthu.directory import actlist
from hopthu.directory.actlist import ActRow

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


async def uploaded_acts(kind: str, file: UploadFile) -> list[ActRow]:
    """The rows of an uploaded list of `kind` requests, or the refusal of the whole file."""
    data = await file.read(actlist.MAX_BYTES + 1)
    return actlist.read_acts(kind, data, file.filename or "")


def template_response(kind: str, fmt: str) -> Response:
    """The template of a list of `kind` requests, as a download."""
    return Response(
        actlist.template(kind, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{actlist.template_name(kind, fmt)}"'},
    )


_FIELDS = ("line", "address", "reason", "ref", "agency", "family", "middle", "given", "note")
_MAX_PACKED = 64 * 1024 * 1024  # what a carried list may unpack to: far above MAX_ROWS rows


def pack(rows: list[ActRow]) -> str:
    """The good rows of a previewed list, carried by the preview's form to the filing. Nothing is
    trusted from it: the rows are checked again when they are filed."""
    return pack_table([[getattr(row, name) for name in _FIELDS] for row in rows])


def unpack(packed: str) -> list[ActRow]:
    """The rows `pack` carried; ValueError for anything else (a form changed by hand)."""
    try:
        return [
            ActRow(int(line), *(str(value) for value in rest))
            for line, *rest in unpack_table(packed, actlist.MAX_ROWS)
        ]
    except TypeError as error:
        raise ValueError(str(error)) from None


def pack_table(table: list[list[Any]]) -> str:
    """Rows of plain values carried by a preview's form to the act that follows: compressed, as a
    form field is bounded (1 MB) and 20,000 rows of JSON are not."""
    text = json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(zlib.compress(text.encode(), 6)).decode("ascii")


def unpack_table(packed: str, max_rows: int) -> list[list[Any]]:
    """The rows `pack_table` carried, at most `max_rows`, each at most a row's width; ValueError for
    anything else (a form changed by hand, or one that would unpack to far more than a list)."""
    inflater = zlib.decompressobj()
    try:
        text = inflater.decompress(base64.urlsafe_b64decode(packed.encode("ascii")), _MAX_PACKED)
        if inflater.unconsumed_tail:
            raise ValueError("too large")
        table = json.loads(text)
    except (zlib.error, UnicodeError, binascii.Error) as error:
        raise ValueError(str(error)) from None
    if not isinstance(table, list) or not all(isinstance(row, list) and row for row in table):
        raise ValueError("not a table")
    return table[:max_rows]
