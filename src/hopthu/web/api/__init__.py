"""The REST API under /api/v1 (R9): an application of its own inside the web app, with its OpenAPI
schema at /api/v1/openapi.json; every refusal a JSON `Problem`, never a traceback."""

from __future__ import annotations

import logging
import secrets

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hopthu import __version__
from hopthu.errors import HopThuError
from hopthu.services import Services
from hopthu.web.api import routes
from hopthu.web.nul import refuse_nul

log = logging.getLogger("hopthu.web.api")
PREFIX = "/api/v1"
_STATUS = {"unauthorised": 401, "forbidden": 403, "not_found": 404, "conflict": 409}


def _problem(status: int, code: str, vi: str, en: str, **headers: str) -> JSONResponse:
    return JSONResponse({"code": code, "vi": vi, "en": en}, status_code=status, headers=headers or None)


def create_api(services: Services) -> FastAPI:
    api = FastAPI(
        title="Hộp Thư API",
        version=__version__,
        description="Cơ quan, hộp thư và yêu cầu của hệ thống thư điện tử thành phố Cần Thơ.",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(refuse_nul)],
    )
    api.state.services = services
    api.include_router(routes.router)

    @api.exception_handler(HopThuError)
    async def refused(_request: Request, error: HopThuError) -> JSONResponse:
        status = _STATUS.get(error.code, 422)
        extra = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        return _problem(status, error.code, error.vi, error.en, **extra)

    @api.exception_handler(RequestValidationError)
    async def invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        where = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in error.errors()[:5])
        return _problem(422, "invalid", f"Dữ liệu không hợp lệ: {where}", f"Invalid data: {where}")

    @api.exception_handler(StarletteHTTPException)
    async def http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _problem(error.status_code, "http", str(error.detail), str(error.detail))

    @api.exception_handler(Exception)
    async def failed(request: Request, _error: Exception) -> JSONResponse:
        incident = secrets.token_hex(4)
        log.exception("API call %s failed (incident %s)", request.url.path, incident)
        return _problem(
            500, "server_error", f"Lỗi máy chủ, mã sự cố {incident}", f"Server error, incident {incident}"
        )

    return api
