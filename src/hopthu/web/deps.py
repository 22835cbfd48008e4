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


WebServices = Annotated[Services, Depends(services_of)]
