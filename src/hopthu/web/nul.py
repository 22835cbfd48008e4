"""No NUL character gets past the door: PostgreSQL text cannot hold one, so a query string, a form or
a JSON body carrying one is refused here (422) rather than failing deep inside as a server error.
File uploads (multipart) are not looked at: a file may hold any byte."""

from __future__ import annotations

from fastapi import HTTPException, Request

_FORM = "application/x-www-form-urlencoded"


async def refuse_nul(request: Request) -> None:
    if b"%00" in request.scope.get("query_string", b"").lower() or "\x00" in request.url.path:
        raise HTTPException(422)
    kind = request.headers.get("content-type", "")
    if kind.startswith(_FORM):
        form = await request.form()  # parsed once: the route reads the same
        if any(isinstance(value, str) and "\x00" in value for value in form.values()):
            raise HTTPException(422)
    elif kind.startswith("application/json"):
        body = await request.body()  # kept by the request: the model reads it again
        if b"\\u0000" in body.lower() or b"\x00" in body:
            raise HTTPException(422)
