"""Who is calling the REST API: a bearer token of `directory.apitokens`, with the powers of its role.
No token, or a revoked one, is 401; a mailbox, agency or request outside the token's agencies is 403
with the one refusal of `filing.OutsideScope`; an auditor's token reads and every other call is 403
(R13.4), refused here once for every operation."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from hopthu.directory.apitokens import ApiToken
from hopthu.directory.filing import OutsideScope
from hopthu.directory.roles import Powers, ReadsOnly
from hopthu.errors import HopThuError
from hopthu.web.client import client_address
from hopthu.web.deps import services_of

READING = frozenset({"GET", "HEAD"})


class Unauthorised(HopThuError):
    def __init__(self) -> None:
        super().__init__(
            "Cần token hợp lệ: Authorization: Bearer <token>",
            "A valid token is needed: Authorization: Bearer <token>",
            code="unauthorised",
        )


class Forbidden(HopThuError):
    def __init__(self) -> None:
        super().__init__("Token này không được làm việc đó", "This token may not do that", code="forbidden")


@dataclass(frozen=True, slots=True)
class Caller:
    token: ApiToken
    powers: Powers

    @property
    def actor(self) -> str:
        """How the audit log names the integration."""
        return f"api:{self.token.name}"

    def check(self, agency_id: int) -> None:
        if not self.powers.covers(agency_id):
            raise OutsideScope()

    def operator(self) -> None:
        if not self.powers.operator:
            raise Forbidden()


async def calling(request: Request) -> Caller:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    tokens = services_of(request).directory.api_tokens
    presented = scheme.lower() == "bearer" and bool(secret.strip())
    found = (
        await tokens.find(
            secret.strip(),
            source=client_address(request),
            client=request.headers.get("user-agent", ""),
        )
        if presented
        else None
    )
    if found is None:
        raise Unauthorised()
    powers = await tokens.powers(found)
    if powers.reads_only and request.method not in READING:
        raise ReadsOnly()
    return Caller(found, powers)
