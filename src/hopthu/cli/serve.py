"""`hopthu serve`: start every listener in one process and run until SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import typer

from hopthu.cli.common import err, fail, out, settings
from hopthu.errors import HopThuError


def serve(
    bind: str | None = typer.Option(None, "--bind", help="Địa chỉ lắng nghe / listen address"),
    http_port: int | None = typer.Option(None, "--http-port", min=0, max=65535, help="Cổng HTTP"),
) -> None:
    """Chạy máy chủ / Run the server: every listener in one process until SIGTERM."""
    config = settings()
    changes = {k: v for k, v in (("bind", bind), ("http_port", http_port)) if v is not None}
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, **changes))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from hopthu.server import Server  # the listeners' libraries load only for this command

    async def main() -> None:
        server = Server(config)
        try:
            await server.start()
        except BaseException:
            await server.stop()
            raise
        for role, url in server.urls().items():
            out.print(f"{role}: {url}", markup=False)
        out.print("Đang chạy; Ctrl+C hoặc SIGTERM để dừng / Running; Ctrl+C or SIGTERM to stop")
        await server.run_until_stopped()

    try:
        _run(main())
    except HopThuError as error:
        fail(error)
    err.print("Đã dừng / Stopped")


def _run(coroutine) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)
