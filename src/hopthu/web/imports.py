"""Importing one's old mail from a file (R13.7): the .mbox, the .eml or the .zip of a Maildir, of .mbox
or of .eml files a person kept on their computer, into their own mailbox.

The upload may be larger than other forms (`limits.max_import_upload`, on this address only:
`web.bodylimit`); Starlette spools it to disk as it arrives. The import then runs in the background
(`importing.background`) and this page shows its progress, reloading itself every few seconds while
it runs (no script needed), then what was imported per folder and what was left out and why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hopthu.config import Settings
from hopthu.errors import HopThuError
from hopthu.importing.archiveimport import ImportResult, reason_words
from hopthu.importing.background import BackgroundImports
from hopthu.importing.items import Bounds
from hopthu.importing.sink import our_name
from hopthu.store import archiveimports
from hopthu.store.folders import SEPARATOR
from hopthu.web.auth import SignedIn, signed_in
from hopthu.web.deps import WebServices, services_of
from hopthu.web.folders import visible
from hopthu.web.forms import CheckedForm
from hopthu.web.templating import VIETNAM, page

router = APIRouter()
IMPORT_PAGE = "/nhap-thu"
REFRESH_SECONDS = 3  # how often the page reloads itself while an import runs
UNPACK_FACTOR = 20  # a zip may unpack to this many times the largest upload, at most


def bounds_for(settings: Settings) -> Bounds:
    """What one uploaded archive may make the server read: messages no larger than mail may be, and a
    zip unpacking to at most `UNPACK_FACTOR` times the largest upload."""
    return Bounds(
        message_max=settings.smtp.max_message_size,
        total_max=UNPACK_FACTOR * settings.limits.max_import_upload,
    )


def _imports(request: Request) -> BackgroundImports:
    imports: BackgroundImports = request.app.state.imports
    return imports


async def _import_page(
    request: Request, who: SignedIn, *, error: HopThuError | None = None, status_code: int = 200
) -> HTMLResponse:
    services = services_of(request)
    now = services.directory.ctx.now()
    state = await archiveimports.latest(services.store.db, who.account.id, now)
    groups = await visible(services, who.account.id)
    summary = ImportResult.from_json(state.summary) if state and state.summary else None
    running = state is not None and state.state == "running"
    return page(
        request,
        "import.html",
        who=who,
        status_code=status_code,
        groups=groups,
        folders=groups[0].folders,
        current=None,
        state=state,
        running=running,
        refresh=REFRESH_SECONDS if running and error is None else None,
        summary=summary,
        reason_words=reason_words,
        limit=services.settings.limits.max_import_upload,
        error=error,
        zone=VIETNAM,
    )


@router.get(IMPORT_PAGE, response_class=HTMLResponse)
async def import_page(request: Request, who: Annotated[SignedIn, Depends(signed_in)]) -> HTMLResponse:
    return await _import_page(request, who)


@router.post(IMPORT_PAGE)
async def start_import(
    request: Request,
    services: WebServices,
    who: CheckedForm,
    tep: Annotated[UploadFile | None, File()] = None,
    noi: Annotated[str, Form()] = "giu",
    thu_muc: Annotated[str, Form()] = "",
) -> Response:
    """Take the uploaded file and start importing it (the page then shows the progress)."""
    try:
        if tep is None or not tep.filename or not tep.size:
            raise HopThuError("Hãy chọn một tệp để nhập", "Choose a file to import", code="missing")
        into = None
        if noi == "mot":
            if not thu_muc.strip():
                raise HopThuError(
                    "Hãy nhập tên thư mục sẽ nhận toàn bộ thư", "Enter the folder that will take all the mail"
                )
            into = our_name(thu_muc.strip(), SEPARATOR)
        name = tep.filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "tep"
        await _imports(request).start(
            who.account.id, tep.file, file_name=name, into=into, bounds=bounds_for(services.settings)
        )
    except HopThuError as error:
        return await _import_page(request, who, error=error, status_code=400)
    return RedirectResponse(IMPORT_PAGE, status_code=303)
