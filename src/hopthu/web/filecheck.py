"""A file chosen in compose, checked the moment it is chosen: a dangerous type (R13.2) or a
secrecy marking in the document (R8.1) is said at once, in the page, rather than when the letter
is sent and refused.

The checks are the ones that refuse the letter later: `protection.filetypes` on a message made of
this one file (so archives, names that hide their extension and programs without a name are judged
exactly as at the MX) and `protection.doctext` with `policy.secrecy` on its text. This is a warning
only: nothing is stored, and sending checks everything again.
"""

from __future__ import annotations

import email.policy
import mimetypes
from email.message import EmailMessage
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from hopthu.mail import parse
from hopthu.protection import doctext, filetypes
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import WebServices
from hopthu.web.security import csrf_ok

router = APIRouter()

CHECK_FILE = "/soan-thu/kiem-tra-tep"


def _single(name: str, content_type: str, data: bytes) -> bytes:
    """One message carrying the file as its only attachment, as the webmail would send it."""
    letter = EmailMessage()
    letter["Subject"] = "kiem tra"
    letter.set_content("")
    maintype, _, subtype = content_type.partition("/")
    letter.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=name)
    return letter.as_bytes(policy=email.policy.SMTP)


async def problems(name: str, content_type: str, data: bytes, extensions: Any) -> list[dict[str, str]]:
    """What sending this file would be refused for, in both languages (empty when nothing)."""
    found: list[dict[str, str]] = []
    message = _single(name, content_type, data)
    dangerous = await filetypes.inspect(message, parse(message), extensions)
    if dangerous is not None:
        found.append(
            {
                "vi": f"Không gửi được tệp này: {dangerous.vi}. Thư có tệp này sẽ bị từ chối.",
                "en": f"This file cannot be sent: {dangerous.en}. A letter carrying it will be refused.",
            }
        )
    markings = await doctext.markings(doctext.documents_of(iter([(name, content_type, data)])))
    if markings:
        lines_vi = ", ".join(f"“{m.text}” (dòng {m.line})" for m in markings[:5])
        lines_en = ", ".join(f"“{m.text}” (line {m.line})" for m in markings[:5])
        found.append(
            {
                "vi": f"Tệp {name} có dấu độ mật {lines_vi}. Theo Điều 8 của Quy chế, không gửi tài liệu"
                " mật qua thư điện tử: thư có tệp này sẽ không được gửi.",
                "en": f"The file {name} carries the secrecy marking {lines_en}. Article 8 of the"
                " regulation forbids sending secret documents by e-mail: a letter carrying it will not"
                " be sent.",
            }
        )
    return found


@router.post(CHECK_FILE)
async def check_file(
    request: Request, services: WebServices, who: Annotated[SignedIn, Depends(signed_in)]
) -> JSONResponse:
    """`file` and `csrf` from the compose page's script; answers {"problems": [{"vi", "en"}]}."""
    form = await request.form()
    csrf = form.get("csrf")
    if not csrf_ok(request, csrf if isinstance(csrf, str) else None):
        return JSONResponse({"problems": []}, status_code=403)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return JSONResponse({"problems": []}, status_code=400)
    name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "tep"
    kind = (upload.content_type or "").split(";")[0].strip().lower()
    if "/" not in kind or kind.startswith(("multipart/", "message/")):
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    data = await upload.read()  # bounded by limits.max_request_body (web.bodylimit)
    extensions = services.settings.protection.dangerous_extensions
    return JSONResponse({"problems": await problems(name, kind, data, extensions)})
