"""The FastAPI application: the webmail and self-service pages, and `/healthz` for the operator.

Pages are server-rendered (`templating.page`); each feature is a router of its own module. A page
that needs a signed-in person depends on `auth.signed_in`, whose `Redirect` becomes a 303 here.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from hopthu import __version__
from hopthu.web import mail, reading, signin
from hopthu.web.auth import Redirect
from hopthu.web.health import health


def create_app(services: Any) -> FastAPI:
    """An app bound to a running process's services (store, directory, settings, web sessions)."""
    app = FastAPI(title="Hộp Thư", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    app.state.closing = asyncio.Event()  # set when the server stops: open event streams end
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(signin.router)
    app.include_router(mail.router)
    app.include_router(reading.router)

    @app.exception_handler(Redirect)
    async def redirect(_request: Request, error: Redirect) -> RedirectResponse:
        return RedirectResponse(error.location, status_code=303)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        report = await health(services.store)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    return app
