"""The FastAPI application: the webmail and self-service pages, and `/healthz` for the operator.

Pages are server-rendered (`templating.page`); each feature is a router of its own module. A page
that needs a signed-in person depends on `auth.signed_in`, whose `Redirect` becomes a 303 here.
What a route does not answer itself is answered here, once: a stale form (`forms.ExpiredForm`) is
400, a domain refusal (`HopThuError`) the 404 or 403 page when something is missing or not the
reader's, else 400 with its own words; an HTTP error its page; a bug 500 with an incident id.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from hopthu import __version__
from hopthu.carddav import front as dav
from hopthu.errors import HopThuError
from hopthu.importing.background import SPOOL, BackgroundImports
from hopthu.metrics.requests import CountRequests
from hopthu.services import Services
from hopthu.web import (
    admin,
    apppasswords,
    book,
    compose,
    filecheck,
    imports,
    mail,
    manage,
    reading,
    report,
    search,
    senderlists,
    signin,
)
from hopthu.web.api import PREFIX as API_PREFIX
from hopthu.web.api import create_api
from hopthu.web.auth import Redirect, signed_in_or_nobody
from hopthu.web.autoconfig import router as autoconfig_router
from hopthu.web.bodylimit import BodyLimit
from hopthu.web.forms import ExpiredForm
from hopthu.web.health import health
from hopthu.web.help import router as help_router
from hopthu.web.nul import refuse_nul
from hopthu.web.security import StrictTransport
from hopthu.web.templating import expired_form, page

log = logging.getLogger("hopthu.web")
_HELP = ("Nếu cần giúp, hãy viết cho hotro@.", "If you need help, write to hotro@.")
_HTTP_TEXTS = {
    400: ("Yêu cầu không hợp lệ", "Bad request"),
    403: ("Không được phép", "Not allowed"),
    404: ("Không tìm thấy trang hoặc thư này", "This page or message was not found"),
    405: ("Không làm được thao tác này ở đây", "This action is not possible here"),
    413: ("Dữ liệu gửi lên quá lớn", "What was sent is too large"),
    422: ("Dữ liệu không hợp lệ", "Invalid data"),
}
_STATIC = Path(__file__).parent / "static"
_DOMAIN_STATUS = {"not_found": 404, "forbidden": 403}  # HopThuError.code; others are 400


def create_app(services: Services) -> FastAPI:
    """An app bound to a running process's services (store, directory, settings, web sessions)."""
    app = FastAPI(
        title="Hộp Thư",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.services = services
    app.add_middleware(StrictTransport, settings=services.settings)
    app.add_middleware(CountRequests, connections=services.connections)  # for /metrics
    limits = services.settings.limits
    app.add_middleware(  # outermost
        BodyLimit,
        max_body=limits.max_request_body,
        larger={imports.IMPORT_PAGE: limits.max_import_upload},
        under={dav.PREFIX: dav.MAX_BODY},
    )
    app.state.imports = BackgroundImports(
        services.store, services.settings.data_dir / SPOOL, services.directory.ctx.now
    )  # R13.7: archives people upload, imported in the background
    app.state.closing = asyncio.Event()  # set when the server stops: open event streams end
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.mount(API_PREFIX, create_api(services))
    app.mount(dav.PREFIX, dav.DavFront(services))  # the address book over CardDAV (RFC 6352)
    app.include_router(signin.router)
    app.include_router(senderlists.router)
    app.include_router(apppasswords.router)
    app.include_router(mail.router)
    app.include_router(reading.router)
    app.include_router(search.router)
    app.include_router(manage.router)
    app.include_router(imports.router)
    app.include_router(report.router)
    app.include_router(compose.router)
    app.include_router(book.router)
    app.include_router(filecheck.router)
    app.include_router(admin.router)
    app.include_router(help_router)
    app.include_router(autoconfig_router)

    @app.exception_handler(Redirect)
    async def redirect(_request: Request, error: Redirect) -> RedirectResponse:
        return RedirectResponse(error.location, status_code=303)

    @app.exception_handler(ExpiredForm)
    async def expired(request: Request, error: ExpiredForm) -> Response:
        return expired_form(request, error.who)

    @app.exception_handler(HopThuError)
    async def domain_refusal(request: Request, error: HopThuError) -> Response:
        """A refusal no form of the page shows itself: a missing or foreign thing is the plain 404 or
        403 page (nothing said of what exists), anything else 400 with the refusal's own words."""
        status = _DOMAIN_STATUS.get(error.code, 400)
        text = _HELP if status in (403, 404) else (error.vi, error.en)
        who = await signed_in_or_nobody(request)
        return page(
            request, "message.html", who=who, status_code=status, title=_HTTP_TEXTS[status], text=text
        )

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> Response:
        vi, en = _HTTP_TEXTS.get(error.status_code, _HTTP_TEXTS[400])
        who = await signed_in_or_nobody(request)
        answer = page(
            request, "message.html", who=who, status_code=error.status_code, title=(vi, en), text=_HELP
        )
        for name, value in (error.headers or {}).items():  # e.g. Allow with a 405 (RFC 9110 §15.5.6)
            answer.headers[name] = value
        return answer

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, _error: RequestValidationError) -> Response:
        who = await signed_in_or_nobody(request)
        return page(request, "message.html", who=who, status_code=422, title=_HTTP_TEXTS[422], text=_HELP)

    @app.exception_handler(Exception)
    async def failed(request: Request, _error: Exception) -> Response:
        """A bug: logged with an id the person can quote to hotro@; never a traceback on the page."""
        incident = secrets.token_hex(4)
        log.exception("web page %s failed (incident %s)", request.url.path, incident)
        return page(
            request,
            "message.html",
            status_code=500,
            title=("Đã có lỗi", "Something went wrong"),
            text=(
                f"Mã sự cố: {incident}. Hãy thử lại hoặc báo hotro@.",
                f"Incident {incident}: try again or tell hotro@.",
            ),
        )

    @app.api_route(dav.WELL_KNOWN, methods=["GET", "HEAD", "PROPFIND", "OPTIONS"], include_in_schema=False)
    async def carddav_home() -> RedirectResponse:
        """RFC 6764 §5: where a CardDAV client that was given only the host finds the service."""
        return RedirectResponse(f"{dav.PREFIX}/", status_code=301)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        """Browsers ask for this address whatever the page says; the icon is static/favicon.svg drawn
        at 16, 32 and 48 pixels."""
        return FileResponse(_STATIC / "favicon.ico", media_type="image/x-icon")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        report = await health(
            services.store, getattr(services, "loopwatch", None), getattr(services, "engines", None)
        )
        return JSONResponse(report, status_code=200 if report["status"] in ("ok", "degraded") else 503)

    return app
