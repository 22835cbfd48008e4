"""`hopthu serve`: one asyncio process hosting every listener and worker.

Listeners start after the store is open and migrated; SIGTERM or SIGINT stops accepting, lets
requests in flight finish (up to the configured grace), finishes pending deliveries and closes the
store. Later capabilities add their listeners to `Server.start`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import socket
from dataclasses import dataclass

import uvicorn

from hopthu.config import Settings
from hopthu.directory.context import DirectoryContext
from hopthu.directory.service import Directory
from hopthu.errors import HopThuError
from hopthu.store import Store
from hopthu.web.app import create_app

log = logging.getLogger("hopthu.server")


@dataclass
class Services:
    settings: Settings
    store: Store
    directory: Directory


class _EmbeddedUvicorn(uvicorn.Server):
    """Uvicorn inside our loop: the process owns the signals, not the HTTP server."""

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return None

    def capture_signals(self):  # uvicorn >= 0.29
        import contextlib

        return contextlib.nullcontext()


def listen_socket(host: str, port: int, role: str) -> socket.socket:
    """A bound, listening socket (port 0 picks a free one), or a clear error if the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise HopThuError(
            f"Không mở được cổng {role} {host}:{port}: {error.strerror}",
            f"Cannot listen for {role} on {host}:{port}: {error.strerror}",
            code="listen",
        ) from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class Server:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.services: Services | None = None
        self._http: _EmbeddedUvicorn | None = None
        self._http_task: asyncio.Task | None = None
        self.stopping = asyncio.Event()

    async def start(self) -> None:
        store = await Store.open(self.settings)
        self.services = Services(self.settings, store, Directory(DirectoryContext(store, self.settings)))
        config = uvicorn.Config(
            create_app(self.services),
            host=self.settings.server.bind,
            port=self.settings.server.http_port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=int(self.settings.server.shutdown_grace_seconds),
        )
        self._http = _EmbeddedUvicorn(config)
        sock = listen_socket(self.settings.server.bind, self.settings.server.http_port, "HTTP")
        self.settings = dataclasses.replace(
            self.settings, server=dataclasses.replace(self.settings.server, http_port=sock.getsockname()[1])
        )
        self._http_task = asyncio.create_task(self._http.serve(sockets=[sock]))
        while not self._http.started:
            if self._http_task.done():
                await self._http_task
                raise OSError("the HTTP listener stopped while starting")
            await asyncio.sleep(0.01)

    def urls(self) -> dict[str, str]:
        host = self.settings.server.bind
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        return {"http": f"http://{shown}:{self.settings.server.http_port}/"}

    async def stop(self) -> None:
        if self._http is not None and self._http_task is not None:
            self._http.should_exit = True
            await asyncio.gather(self._http_task, return_exceptions=True)
        if self.services is not None:
            await self.services.store.close()

    async def run_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        try:
            await self.stopping.wait()
        finally:
            log.info("stopping")
            await self.stop()
