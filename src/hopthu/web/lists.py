"""Lists of requests uploaded to the portal or the API (R10.3): read within `actlist`'s bounds (the
upload is read no further than one byte past the size limit) and named for download."""

from __future__ import annotations

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
