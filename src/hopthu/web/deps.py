"""The process's services as the web routes see them, typed: a route asks for `services: WebServices`
instead of reaching into `request.app.state`, and a helper without the dependency calls
`services_of(request)`. The forms' CSRF check is the other dependency every POST shares (`web.forms`).
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from hopthu.services import Services


def services_of(request: Request) -> Services:
    """The services the app (or the API mounted in it) was created with (`web.app.create_app`)."""
    return cast(Services, request.app.state.services)


async def _services(request: Request) -> Services:
    """`services_of` as a dependency. It is async because FastAPI runs a plain `def` dependency in
    a worker thread: two thread hand-offs on every request for a dictionary lookup."""
    return services_of(request)


WebServices = Annotated[Services, Depends(_services)]
