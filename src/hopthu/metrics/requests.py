"""The web's requests, counted for `/metrics` as the other protocols count their commands."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hopthu.security.connections import ConnectionLimits


class CountRequests:
    """ASGI middleware: one more request on the HTTP listener's `ConnectionLimits.commands`."""

    def __init__(self, app: Any, connections: Mapping[str, ConnectionLimits]) -> None:
        self.app = app
        self.connections = connections  # the server's, filled in as its listeners start

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            limits = self.connections.get("http")
            if limits is not None:
                limits.commands += 1
        await self.app(scope, receive, send)
