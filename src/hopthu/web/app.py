"""The FastAPI application. Features add their routers here; `/healthz` reports the store's state."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from hopthu import __version__
from hopthu.web.health import health


def create_app(services: Any) -> FastAPI:
    """An app bound to a running process's services (store, directory, settings)."""
    app = FastAPI(title="Hộp Thư", version=__version__, docs_url=None, redoc_url=None)
    app.state.services = services

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        report = await health(services.store)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    return app
